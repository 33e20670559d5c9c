// grove tls/http tests — a throwaway PKI made with the openssl CLI, and
// child processes (openssl s_server / s_client, curl) read cooperatively.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/io.hpp>
#include <grove/timeout.hpp>

namespace grove::test {

/// A CA and certificates signed by it, in a temp dir removed at exit:
///   ca.pem                the trust anchor
///   server.{pem,key}      CN/SAN localhost + IP 127.0.0.1, signed by the CA
///   expired.{pem,key}     same names, notAfter before notBefore (expired)
///   wrong.{pem,key}       SAN wrong.example only, signed by the CA
///   self.{pem,key}        localhost, self-signed (not trusted)
/// Generated once per test program (EC P-256: ~50 ms in all).
class TestPki {
public:
    static const TestPki& get() {
        static const TestPki pki;
        return pki;
    }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }
    const std::string& dir() const { return dir_; }

    TestPki(const TestPki&) = delete;
    TestPki& operator=(const TestPki&) = delete;
    ~TestPki() { (void)std::system(("rm -rf '" + dir_ + "'").c_str()); }

private:
    TestPki() {
        char tmpl[] = "/tmp/grove-pki-XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::system_error(errno, std::system_category(), "mkdtemp");
        dir_ = tmpl;
        const std::string script = "set -e; cd '" + dir_ + R"('
K='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'
openssl req -x509 $K -keyout ca.key -out ca.pem -days 3 -subj /CN=grove-test-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
leaf() { # name san days [self]
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n' "$2" > $1.ext
  openssl req $K -keyout $1.key -out $1.csr -subj /CN=localhost
  if [ -n "$4" ]; then
    openssl x509 -req -in $1.csr -signkey $1.key -days $3 -extfile $1.ext -out $1.pem
  else
    openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days $3 -extfile $1.ext -out $1.pem
  fi
}
leaf server DNS:localhost,IP:127.0.0.1 3
leaf expired DNS:localhost,IP:127.0.0.1 -1
leaf wrong DNS:wrong.example 3
leaf self DNS:localhost,IP:127.0.0.1 3 self
)";
        const std::string cmd = "sh -c \"$GROVE_PKI_SCRIPT\" >'" + dir_ + "/log' 2>&1";
        ::setenv("GROVE_PKI_SCRIPT", script.c_str(), 1);
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl CLI failed; see " + dir_ + "/log");
    }
    std::string dir_;
};

/// A child process with stdin on a pipe and stdout+stderr on another, both
/// used cooperatively. The destructor SIGKILLs and reaps it if still running.
class Child {
public:
    explicit Child(std::vector<std::string> argv) {
        ::signal(SIGPIPE, SIG_IGN);  // a child that exits early must not kill the test
        int in[2], out[2];
        if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0)
            throw std::system_error(errno, std::system_category(), "pipe2");
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
            ::dup2(out[1], 2);
            std::vector<char*> args;
            for (auto& a : argv) args.push_back(a.data());
            args.push_back(nullptr);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        stdin_ = Socket::adopt(in[1]);
        stdout_ = Socket::adopt(out[0]);
    }
    ~Child() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    void signal(int signum) {
        if (pid_ > 0) ::kill(pid_, signum);
    }
    void write(const std::string& data) { write_all(stdin_.fileno(), data); }
    void close_stdin() { stdin_.close(); }

    /// Reads until `needle` appears in the output (returns everything read so
    /// far) or EOF / `timeout` (returns what there is).
    std::string read_until(const std::string& needle, Duration timeout = std::chrono::seconds(10)) {
        const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
        while (output_.find(needle) == std::string::npos && !eof_ && Clock::now() < deadline) read_some(deadline);
        return output_;
    }
    /// The first complete output line that starts with `prefix` ("" if none
    /// comes before EOF / `timeout`).
    std::string read_line_starting(const std::string& prefix, Duration timeout = std::chrono::seconds(10)) {
        const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
        for (;;) {
            for (std::size_t at = output_.find(prefix); at != std::string::npos; at = output_.find(prefix, at + 1)) {
                const auto nl = output_.find('\n', at);
                if ((at == 0 || output_[at - 1] == '\n') && nl != std::string::npos) return output_.substr(at, nl - at);
            }
            if (eof_ || Clock::now() >= deadline) return {};
            read_some(deadline);
        }
    }
    std::string read_to_eof(Duration timeout = std::chrono::seconds(10)) { return read_until("\x01\x02", timeout); }
    const std::string& output() const { return output_; }

    /// Waits for exit (cooperatively polling); the exit status, or -1.
    int wait(Duration timeout = std::chrono::seconds(10)) {
        const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
        int status = 0;
        while (Clock::now() < deadline) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            grove::sleep(std::chrono::milliseconds(5));
        }
        return -1;
    }

private:
    static void write_all(int fd, const std::string& data) {
        std::size_t off = 0;
        while (off < data.size()) {
            const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
            if (n > 0) {
                off += static_cast<std::size_t>(n);
            } else if (errno == EAGAIN) {
                wait_write(fd);
            } else {
                throw std::system_error(errno, std::system_category(), "write to child");
            }
        }
    }
    void read_some(Deadline deadline) {
        try {
            wait_read(stdout_.fileno(), Duration(deadline - Clock::now()));
        } catch (const TimeoutError&) {
            return;
        }
        char buf[4096];
        const ssize_t n = ::read(stdout_.fileno(), buf, sizeof buf);
        if (n > 0) output_.append(buf, static_cast<std::size_t>(n));
        if (n == 0) eof_ = true;
    }

    pid_t pid_ = -1;
    Socket stdin_;
    Socket stdout_;
    std::string output_;
    bool eof_ = false;
};

}  // namespace grove::test
