// grove internal — unhandled-error reports (gevent's print_exception).
//
// The throw site's frames are recorded when the exception is thrown (an
// interposed __cxa_throw stores raw PCs, cheap, keyed by the exception
// object) and symbolised only when a report is printed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace grove::detail {

/// One frame of a stack, symbolised (shared by reports, run info, the monitor).
struct Frame {
    std::uintptr_t pc = 0;  // inside the call instruction
    std::string function;   // demangled; empty when unknown
    std::string file;       // empty without debug info
    std::size_t line = 0;
    std::string object;  // the executable or shared library holding pc
    std::uintptr_t object_base = 0;
};

/// Symbolises a return address (debug info through Boost.Stacktrace when
/// available, else the dynamic symbol table). Allocates; not for signal handlers.
Frame symbolise(std::uintptr_t return_address);

/// The throw-site frames recorded for the exception object behind `e`
/// (an opaque handle, empty when none was recorded). Call it in the catch
/// block that ends a greenlet, before anything else is thrown on the thread.
std::shared_ptr<void> take_throw_trace(const std::exception_ptr& e);

/// "std::domain_error" — the demangled dynamic type of the exception.
std::string exception_type_name(const std::exception_ptr& e);

/// what() for std::exception, GreenletExit and TimeoutError; empty otherwise.
std::string exception_message(const std::exception_ptr& e);

/// The whole gevent-style report:
///   Traceback (most recent call last):
///     File "x.cpp", line 12, in divide(int, int)      (outermost first)
///   std::domain_error: integer division or modulo by zero
///   <description> failed with std::domain_error
std::string format_report(const std::string& description, const std::exception_ptr& e,
                          const std::shared_ptr<void>& trace);

/// Writes format_report() to the spdlog logger "grove" at error level.
void report_error(const std::string& description, const std::exception_ptr& e, const std::shared_ptr<void>& trace);

/// The logger named "grove" (created on first use: stderr, pattern "%v";
/// a logger the user registered under that name first is used as is).
std::shared_ptr<spdlog::logger> logger();

}  // namespace grove::detail
