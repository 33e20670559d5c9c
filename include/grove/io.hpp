// grove — cooperative I/O: fd waits, sockets, servers, DNS, the thread pool
// and signals. Everything here blocks only the calling greenlet.
// Subprocesses and files: <grove/subprocess.hpp>, <grove/file_object.hpp>.
#pragma once

#include <grove/file_object.hpp>
#include <grove/io/address.hpp>
#include <grove/io/ares.hpp>
#include <grove/io/datagram_server.hpp>
#include <grove/io/resolve.hpp>
#include <grove/io/server.hpp>
#include <grove/io/server_threads.hpp>
#include <grove/io/signal.hpp>
#include <grove/io/socket.hpp>
#include <grove/io/threadpool.hpp>
#include <grove/io/wait.hpp>
#include <grove/subprocess.hpp>
