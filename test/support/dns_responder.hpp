// grove tests — a minimal DNS server for the c-ares resolver's tests, the
// dns_mass_resolve example's smoke test and the resolver bench: UDP, one
// question per query, fixed answers. Runs as a grove::DatagramServer on the
// calling thread's hub.
//
// Names it knows:
//   host<N>.grove.test   A 10.<N/65536%256>.<N/256%256>.<N%256>, AAAA fd00::<N>
//   anything add()ed     the given addresses
//   other names          NXDOMAIN
// With silent(true) it swallows every query (for timeouts and kills).
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <grove/io.hpp>

namespace grove::test {

class DnsResponder {
public:
    /// Listens on `address` (port 0: a free one) at once.
    explicit DnsResponder(const Address& address = Address::ip("127.0.0.1", 0))
        : server_(address, [this](const std::string& q, const Address& from) { answer(q, from); }) {
        server_.start();
    }

    Address address() const { return server_.address(); }
    /// "127.0.0.1:PORT", as grove::ares::set_servers takes it.
    std::string servers_csv() const { return "127.0.0.1:" + std::to_string(server_.address().port()); }
    void add(const std::string& name, std::vector<std::string> v4, std::vector<std::string> v6 = {}) {
        records_[name] = {std::move(v4), std::move(v6)};
    }
    void silent(bool on) { silent_ = on; }
    /// Queries received so far.
    int queries() const { return queries_; }
    void stop() { server_.stop(); }

private:
    struct Record {
        std::vector<std::string> v4, v6;
    };

    static void put16(std::string& out, unsigned v) {
        out += static_cast<char>((v >> 8) & 0xff);
        out += static_cast<char>(v & 0xff);
    }

    /// The A (type 1) or AAAA (28) addresses of `name`, as raw bytes; false
    /// when the name does not exist.
    bool lookup(const std::string& name, unsigned type, std::vector<std::string>& rdata) const {
        std::vector<std::string> texts;
        if (auto it = records_.find(name); it != records_.end()) {
            texts = type == 1 ? it->second.v4 : type == 28 ? it->second.v6 : std::vector<std::string>{};
        } else if (name.rfind("host", 0) == 0 && name.size() > 15 &&
                   name.compare(name.size() - 11, 11, ".grove.test") == 0) {
            const unsigned long n = std::stoul(name.substr(4, name.size() - 15));
            if (type == 1)
                texts.push_back("10." + std::to_string(n / 65536 % 256) + "." + std::to_string(n / 256 % 256) + "." +
                                std::to_string(n % 256));
            if (type == 28) texts.push_back("fd00::" + std::to_string(n));
        } else {
            return false;
        }
        for (const auto& t : texts) {
            unsigned char buf[16];
            const int family = type == 1 ? AF_INET : AF_INET6;
            if (::inet_pton(family, t.c_str(), buf) == 1)
                rdata.emplace_back(reinterpret_cast<char*>(buf), type == 1 ? 4 : 16);
        }
        return true;
    }

    void answer(const std::string& q, const Address& from) {
        ++queries_;
        if (silent_ || q.size() < 17) return;
        // The question: labels from byte 12, then QTYPE and QCLASS.
        std::string name;
        std::size_t pos = 12;
        while (pos < q.size() && q[pos] != 0) {
            const auto len = static_cast<unsigned char>(q[pos]);
            if (len > 63 || pos + 1 + len >= q.size()) return;
            if (!name.empty()) name += '.';
            name.append(q, pos + 1, len);
            pos += 1 + len;
        }
        if (pos + 5 > q.size()) return;
        const std::size_t question_end = pos + 5;
        const unsigned type = (static_cast<unsigned char>(q[pos + 1]) << 8) | static_cast<unsigned char>(q[pos + 2]);
        std::vector<std::string> rdata;
        const bool exists = lookup(name, type, rdata);
        std::string r = q.substr(0, 2);                 // ID
        put16(r, 0x8180 | (exists ? 0 : 3));            // response, RD, RA; NXDOMAIN if unknown
        put16(r, 1);                                    // QDCOUNT
        put16(r, static_cast<unsigned>(rdata.size()));  // ANCOUNT
        put16(r, 0);
        put16(r, 0);
        r.append(q, 12, question_end - 12);
        for (const auto& d : rdata) {
            put16(r, 0xc00c);  // the name: a pointer to the question's
            put16(r, type);
            put16(r, 1);  // IN
            put16(r, 0);
            put16(r, 60);  // TTL
            put16(r, static_cast<unsigned>(d.size()));
            r += d;
        }
        server_.sendto(r, from);
    }

    std::map<std::string, Record> records_;
    bool silent_ = false;
    int queries_ = 0;
    DatagramServer server_;
};

}  // namespace grove::test
