// grove tests — what /proc says about this process's children: none may be
// left as a zombie (exited, never reaped) once a test is done with them.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace grove::test {

/// Pids of this process's children that are zombies right now (/proc/*/stat:
/// state 'Z' and ppid == getpid()).
inline std::vector<int> zombie_children() {
    std::vector<int> out;
    const int self = static_cast<int>(::getpid());
    DIR* proc = ::opendir("/proc");
    if (!proc) return out;
    while (dirent* e = ::readdir(proc)) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
        std::string line;
        if (!std::getline(in, line)) continue;
        const auto paren = line.rfind(')');  // the command may hold spaces and parens
        if (paren == std::string::npos) continue;
        std::istringstream rest(line.substr(paren + 1));
        char state = 0;
        int ppid = 0;
        rest >> state >> ppid;
        if (state == 'Z' && ppid == self) out.push_back(std::stoi(e->d_name));
    }
    ::closedir(proc);
    return out;
}

/// Whether process `pid` still exists (zombie or not).
inline bool process_exists(int pid) { return ::access(("/proc/" + std::to_string(pid)).c_str(), F_OK) == 0; }

}  // namespace grove::test
