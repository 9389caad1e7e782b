// A seam for OpenSSL failing to make a session (SSL_new returning null, as out of memory), which
// no configuration of an SSL_CTX can cause. probe_tests defines SSL_new itself
// (hostile_server_test.cpp): the engine, linked statically into the binary, calls that one, which
// hands every call to libssl's except those for the one SSL_CTX a test names here.
#pragma once

typedef struct ssl_ctx_st SSL_CTX;

namespace urlprobe::test {

// While it lives, SSL_new(context) fails; other contexts (the test servers') are untouched.
class FailingSslNew {
 public:
  explicit FailingSslNew(SSL_CTX* context);
  ~FailingSslNew();
  FailingSslNew(const FailingSslNew&) = delete;
  FailingSslNew& operator=(const FailingSslNew&) = delete;
};

}  // namespace urlprobe::test
