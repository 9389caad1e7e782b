// The PAC helpers a script calls (route/pac/builtins.cpp): dnsResolve, myIpAddress, isInNetEx,
// sortIpAddressList and alert in C++, the Netscape/Mozilla ones in JavaScript on top of them.
#pragma once

#include <duktape.h>

namespace urlprobe::route::detail {

// A duk_safe_call function: removes the Duktape object and defines every helper as a global of
// the heap (whose memory udata is its PacSandbox).
duk_ret_t setup_globals(duk_context* ctx, void*);

}  // namespace urlprobe::route::detail
