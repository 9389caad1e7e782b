// Placeholder until the web-config reader lands (issue 20).
#include "serve/web_config.hpp"

namespace urlprobe::serve {

WebConfig parse_web_config(std::string_view, std::string_view source) {
  throw WebConfigError(std::string(source) + ": --web-config is not supported yet");
}
WebConfig read_web_config(const std::string& path) {
  return parse_web_config({}, path);
}
boost::asio::ssl::context make_server_tls(const WebConfig& config) {
  throw WebConfigError(config.source + ": TLS is not supported yet");
}
BasicAuth::BasicAuth(std::vector<std::pair<std::string, std::string>> users)
    : users_(std::move(users)) {}
bool BasicAuth::allows(std::string_view) const {
  return false;
}

}  // namespace urlprobe::serve
