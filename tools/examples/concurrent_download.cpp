// concurrent_download — libcurl's plain blocking easy API, many downloads at
// once: each runs in its own greenlet, and grove's libc hooks make curl's
// connect/poll/recv cooperative, so curl never learns it is sharing a thread.
//
//   concurrent_download URL...
#include <curl/curl.h>

#include <cstdio>
#include <string>
#include <vector>

#include <grove/grove.hpp>
#include <grove/monkey.hpp>

namespace {

std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
}

// Ordinary blocking libcurl code, exactly as one would write it without grove.
std::string download(const std::string& url) {
    std::string body;
    CURL* curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    const CURLcode rc = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) throw std::runtime_error(url + ": " + curl_easy_strerror(rc));
    return body;
}

}  // namespace

int main(int argc, char** argv) {
    grove::monkey::patch_all();  // or run an unmodified program with tools/grove-run
    curl_global_init(CURL_GLOBAL_DEFAULT);
    std::vector<grove::Ref<grove::Greenlet<std::string>>> jobs;
    for (int i = 1; i < argc; ++i) jobs.push_back(grove::spawn(download, std::string(argv[i])));
    std::size_t total = 0, ok = 0;
    for (auto& job : jobs) {
        job->join();
        if (!job->successful()) continue;  // its error was reported on stderr
        total += job->get()->size();
        ++ok;
    }
    std::printf("%zu of %zu downloads, %zu bytes\n", ok, jobs.size(), total);
    curl_global_cleanup();
    return ok == jobs.size() ? 0 : 1;
}
