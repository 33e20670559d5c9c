// grove internal — grove::config: parsing GROVE_* variables, validation, and
// the once-read settings. The only place that reads the environment for a
// setting: the rest of grove asks config::current().
//
// Every parser reports with the same shape, so a user sees which variable
// and which text were wrong:
//   grove::config: GROVE_STACK_SIZE='12Q': not a size (bytes, or with a K, M or G suffix)
#include <grove/config.hpp>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace grove::config {
namespace {

[[noreturn]] void bad(std::string_view variable, std::string_view text, std::string_view reason) {
    throw std::invalid_argument(fmt::format("grove::config: {}='{}': {}", variable, text, reason));
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::size_t parse_size(const char* variable, const char* text) {
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(text, &end, 10);
    if (errno || end == text || *text == '-') bad(variable, text, "not a size (bytes, or with a K, M or G suffix)");
    int shift = 0;
    switch (*end) {
        case 'k':
        case 'K':
            shift = 10;
            ++end;
            break;
        case 'm':
        case 'M':
            shift = 20;
            ++end;
            break;
        case 'g':
        case 'G':
            shift = 30;
            ++end;
            break;
        default:
            break;
    }
    if (*end != '\0') bad(variable, text, "not a size (bytes, or with a K, M or G suffix)");
    if (shift && n > (~0ULL >> shift)) bad(variable, text, "too large");
    return static_cast<std::size_t>(n << shift);
}

bool parse_bool(const char* variable, const char* text) {
    const std::string v = lower(text);
    if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
    if (v == "0" || v == "false" || v == "no" || v == "off") return false;
    bad(variable, text, "not a boolean (1/0, true/false, yes/no, on/off)");
}

double parse_seconds(const char* variable, const char* text) {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text, &end);
    if (errno || end == text || *end != '\0') bad(variable, text, "not a number of seconds");
    return v;
}

std::size_t parse_count(const char* variable, const char* text) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0' || v <= 0) bad(variable, text, "not a positive whole number");
    return static_cast<std::size_t>(v);
}

struct SignalName {
    const char* name;
    int number;
};
constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},
    {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"WINCH", SIGWINCH}, {"PWR", SIGPWR},   {"SYS", SIGSYS},
};

int parse_signal(const char* variable, const char* text) {
    std::string v = lower(text);
    if (v == "off" || v == "none" || v == "0") return 0;
    if (v == "on" || v == "yes" || v == "true") return SIGUSR1;
    if (v.rfind("sig", 0) == 0) v.erase(0, 3);
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (!v.empty() && *end == '\0') return static_cast<int>(n);  // range checked by validate()
    for (const SignalName& s : kSignals)
        if (lower(s.name) == v) return s.number;
    bad(variable, text, "not a signal (on, a name such as USR1 or SIGUSR2, or a number; off disables)");
}

void validate_size_range(const char* variable, std::size_t n, std::string_view text) {
    if (n != 0 && (n < 16 * 1024 || n > (std::size_t{1} << 30))) bad(variable, text, "must be between 16K and 1G");
}

void check(const Settings& s, bool from_env_text, const char* (*text)(const char* variable)) {
    auto shown = [&](const char* variable, const std::string& value) {
        return from_env_text ? std::string(text(variable)) : value;
    };
    validate_size_range("GROVE_STACK_SIZE", s.stack_size, shown("GROVE_STACK_SIZE", std::to_string(s.stack_size)));
    if (!(s.max_blocking_time > 0) || !std::isfinite(s.max_blocking_time))
        bad("GROVE_MAX_BLOCKING_TIME", shown("GROVE_MAX_BLOCKING_TIME", fmt::format("{}", s.max_blocking_time)),
            "must be a finite number of seconds > 0");
    if (s.run_info_signal != 0 &&
        (s.run_info_signal < 1 || s.run_info_signal >= NSIG || s.run_info_signal == SIGKILL ||
         s.run_info_signal == SIGSTOP || s.run_info_signal == SIGSEGV || s.run_info_signal == SIGBUS))
        bad("GROVE_RUN_INFO_SIGNAL", shown("GROVE_RUN_INFO_SIGNAL", std::to_string(s.run_info_signal)),
            fmt::format("not a usable signal (1..{}, not KILL, STOP, SEGV or BUS)", NSIG - 1));
    if (s.threadpool_size == 0) bad("GROVE_THREADPOOL_SIZE", shown("GROVE_THREADPOOL_SIZE", "0"), "must be > 0");
    if (s.resolver != "thread" && s.resolver != "ares" && s.resolver != "block")
        bad("GROVE_RESOLVER", shown("GROVE_RESOLVER", s.resolver), "unknown resolver (ares, thread or block)");
    static constexpr const char* kLevels[] = {"",     "trace", "debug",    "info", "warning",
                                              "warn", "error", "critical", "off"};
    bool level_ok = false;
    for (const char* level : kLevels) level_ok = level_ok || s.log_level == level;
    if (!level_ok)
        bad("GROVE_LOG_LEVEL", shown("GROVE_LOG_LEVEL", s.log_level),
            "not a level (trace, debug, info, warning, error, critical, off)");
}

const char* env_text(const char* variable) {
    const char* v = std::getenv(variable);
    return v ? v : "";
}

// Set and non-empty.
const char* env(const char* variable) {
    const char* v = std::getenv(variable);
    return v && *v ? v : nullptr;
}

std::mutex g_mutex;
std::optional<Settings> g_settings;  // guarded by g_mutex; fixed once g_read
bool g_read = false;

}  // namespace

Settings from_environment() {
    Settings s;
    if (const char* v = env("GROVE_STACK_SIZE")) s.stack_size = parse_size("GROVE_STACK_SIZE", v);
    if (const char* v = env("GROVE_GUARD_BUDGET")) s.guard_budget = parse_size("GROVE_GUARD_BUDGET", v);
    if (const char* v = env("GROVE_MONITOR_THREAD")) s.monitor_thread = parse_bool("GROVE_MONITOR_THREAD", v);
    if (const char* v = env("GROVE_MAX_BLOCKING_TIME"))
        s.max_blocking_time = parse_seconds("GROVE_MAX_BLOCKING_TIME", v);
    if (const char* v = env("GROVE_MAX_MEMORY_USAGE")) s.max_memory_usage = parse_size("GROVE_MAX_MEMORY_USAGE", v);
    if (const char* v = env("GROVE_RUN_INFO_SIGNAL")) s.run_info_signal = parse_signal("GROVE_RUN_INFO_SIGNAL", v);
    if (const char* v = env("GROVE_THREADPOOL_SIZE")) s.threadpool_size = parse_count("GROVE_THREADPOOL_SIZE", v);
    if (const char* v = env("GROVE_RESOLVER")) s.resolver = v;
    if (const char* v = env("GROVE_LOG_LEVEL")) s.log_level = lower(v);
    if (const char* v = env("GROVE_GREENLET_TIMING")) s.greenlet_timing = parse_bool("GROVE_GREENLET_TIMING", v);
    if (const char* v = env("GROVE_COMPACT")) s.compact = parse_bool("GROVE_COMPACT", v);
    if (const char* v = env("GROVE_NO_GUARD_INSTALL")) s.guard_install = !parse_bool("GROVE_NO_GUARD_INSTALL", v);
    check(s, true, &env_text);
    return s;
}

void validate(const Settings& settings) { check(settings, false, &env_text); }

void set(const Settings& settings) {
    validate(settings);
    const std::lock_guard lock(g_mutex);
    if (g_read)
        throw std::logic_error(
            "grove::config::set: the settings were already read (by the first hub, spawn or stack); "
            "call set() before any other grove call");
    g_settings = settings;
}

const Settings& current() {
    const std::lock_guard lock(g_mutex);
    if (!g_settings) g_settings = from_environment();  // throws on a bad variable, every time
    g_read = true;
    return *g_settings;
}

}  // namespace grove::config
