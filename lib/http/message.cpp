// grove-http — Headers, Response helpers, reason phrases.
#include <grove/http/message.hpp>

#include <algorithm>
#include <cctype>

namespace grove::http {

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::optional<std::string_view> Headers::get(std::string_view name) const noexcept {
    for (const auto& [k, v] : fields_)
        if (iequals(k, name)) return std::string_view(v);
    return std::nullopt;
}

void Headers::add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }

void Headers::set(std::string name, std::string value) {
    remove(name);
    add(std::move(name), std::move(value));
}

std::size_t Headers::remove(std::string_view name) {
    const auto before = fields_.size();
    fields_.erase(
        std::remove_if(fields_.begin(), fields_.end(), [&](const Field& f) { return iequals(f.first, name); }),
        fields_.end());
    return before - fields_.size();
}

std::string BodyReader::read(std::size_t max) {
    std::string out(std::min<std::size_t>(max, 64 * 1024), '\0');
    out.resize(read(out.data(), out.size()));
    return out;
}

std::string BodyReader::read_all() {
    std::string out;
    char buf[16 * 1024];
    while (const std::size_t n = read(buf, sizeof buf)) out.append(buf, n);
    return out;
}

Response Response::text(int status, std::string body, std::string content_type) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    r.headers.add("Content-Type", std::move(content_type));
    return r;
}

Response Response::streaming(int status, std::function<void(BodyWriter&)> producer, std::string content_type) {
    Response r;
    r.status = status;
    r.stream = std::move(producer);
    r.headers.add("Content-Type", std::move(content_type));
    return r;
}

std::string_view reason_phrase(int status) noexcept {
    switch (status) {
        case 100:
            return "Continue";
        case 101:
            return "Switching Protocols";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 204:
            return "No Content";
        case 206:
            return "Partial Content";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 303:
            return "See Other";
        case 304:
            return "Not Modified";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 411:
            return "Length Required";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 417:
            return "Expectation Failed";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

}  // namespace grove::http
