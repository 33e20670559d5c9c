// grove-tls — the MSG_NOSIGNAL socket BIO (see bio.hpp).
//
// OpenSSL's own BIO_s_socket writes with write(2), which raises SIGPIPE on a
// connection the peer has reset; a library must not require its users to
// ignore SIGPIPE process-wide, so we send(2) ourselves. The fd travels in the
// BIO's data pointer; the BIO never closes it.
#include "bio.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

namespace grove::tls_detail {
namespace {

int fd_of(BIO* b) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }

bool transient(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

int bio_write(BIO* b, const char* data, int len) {
    BIO_clear_retry_flags(b);
    const auto n = ::send(fd_of(b), data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
    if (n < 0 && transient(errno)) BIO_set_retry_write(b);
    return static_cast<int>(n);
}

int bio_read(BIO* b, char* buf, int len) {
    BIO_clear_retry_flags(b);
    const auto n = ::recv(fd_of(b), buf, static_cast<std::size_t>(len), 0);
    if (n < 0 && transient(errno)) BIO_set_retry_read(b);
    return static_cast<int>(n);
}

int bio_puts(BIO* b, const char* s) {
    int len = 0;
    while (s[len]) ++len;
    return bio_write(b, s, len);
}

long bio_ctrl(BIO*, int cmd, long, void*) {
    // FLUSH: nothing is buffered here. Everything else: unsupported (0).
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
}

BIO_METHOD* make_method() {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "grove socket");
    if (!m) return nullptr;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_puts(m, bio_puts);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
}

}  // namespace

BIO* new_socket_bio(int fd) {
    // Created once per process (thread-safe static init), never freed: the
    // method table must outlive every BIO, including ones freed at exit.
    static BIO_METHOD* const method = make_method();
    if (!method) return nullptr;
    BIO* b = BIO_new(method);
    if (b) BIO_set_data(b, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
    return b;
}

}  // namespace grove::tls_detail
