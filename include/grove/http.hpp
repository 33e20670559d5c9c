// grove — HTTP/1.1 server: requests, responses, streaming, over plain TCP or
// TLS. Library `grove-http` (needs `grove-tls`, hence OpenSSL).
#pragma once

#include <grove/http/message.hpp>
#include <grove/http/server.hpp>
