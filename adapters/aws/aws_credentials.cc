#include "adapters/aws/aws_credentials.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "adapters/cloud/http_client.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace trenode::adapters::aws {
namespace {

constexpr absl::Duration kRefreshBefore = absl::Minutes(5);

class Static : public AwsCredentialsProvider {
 public:
  Static(AwsCredentials credentials, std::string source)
      : credentials_(std::move(credentials)), source_(std::move(source)) {}
  absl::StatusOr<AwsCredentials> Get() override { return credentials_; }
  std::string Source() const override { return source_; }

 private:
  AwsCredentials credentials_;
  std::string source_;
};

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The [profile] section of an INI-style credentials file.
std::optional<AwsCredentials> ProfileFrom(absl::string_view text, absl::string_view profile) {
  bool in_profile = false;
  AwsCredentials credentials;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      in_profile = absl::StripAsciiWhitespace(line.substr(1, line.size() - 2)) == profile;
      continue;
    }
    if (!in_profile) continue;
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    absl::string_view key = absl::StripAsciiWhitespace(kv.first);
    std::string value(absl::StripAsciiWhitespace(kv.second));
    if (key == "aws_access_key_id") credentials.access_key_id = value;
    if (key == "aws_secret_access_key") credentials.secret_access_key = value;
    if (key == "aws_session_token") credentials.session_token = value;
  }
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return std::nullopt;
  }
  return credentials;
}

std::string Field(const google::protobuf::Struct& json, const std::string& name) {
  auto it = json.fields().find(name);
  return it == json.fields().end() ? "" : it->second.string_value();
}

// {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}: the shape both
// the container and the instance endpoints answer with.
absl::StatusOr<AwsCredentials> ParseTemporary(absl::string_view body, absl::string_view from) {
  google::protobuf::Struct json;
  if (!google::protobuf::util::JsonStringToMessage(std::string(body), &json).ok()) {
    return absl::UnavailableError(absl::StrCat(from, " answered with something not JSON"));
  }
  AwsCredentials credentials{Field(json, "AccessKeyId"), Field(json, "SecretAccessKey"),
                             Field(json, "Token")};
  std::string expiration = Field(json, "Expiration");
  std::string error;
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty() ||
      !absl::ParseTime(absl::RFC3339_full, expiration, &credentials.expires, &error)) {
    return absl::UnavailableError(
        absl::StrCat(from, " answered without AccessKeyId, SecretAccessKey and Expiration"));
  }
  return credentials;
}

// Temporary credentials fetched by `fetch`, kept until five minutes before
// they expire.
class Refreshing : public AwsCredentialsProvider {
 public:
  Refreshing(std::function<absl::StatusOr<AwsCredentials>()> fetch, std::string source)
      : fetch_(std::move(fetch)), source_(std::move(source)) {}

  absl::StatusOr<AwsCredentials> Get() override {
    absl::MutexLock lock(&mu_);
    if (current_ && absl::Now() < current_->expires - kRefreshBefore) return *current_;
    absl::StatusOr<AwsCredentials> fresh = fetch_();
    if (!fresh.ok()) return fresh.status();
    current_ = *fresh;
    return *current_;
  }
  std::string Source() const override { return source_; }

 private:
  std::function<absl::StatusOr<AwsCredentials>()> fetch_;
  std::string source_;
  absl::Mutex mu_;
  std::optional<AwsCredentials> current_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<AwsCredentials> FetchFromContainer(const std::string& url,
                                                  const EnvironmentLookup& environment) {
  cloud::HttpClient http({.connect_timeout = absl::Seconds(2),
                          .timeout = absl::Seconds(10),
                          .ca_file = "",
                          .max_response_bytes = 64 << 10,
                          .direct = true});
  cloud::HttpRequest request{"GET", url, {}, ""};
  std::optional<std::string> token = environment("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  if (std::optional<std::string> file = environment("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    token = ReadFile(*file);
    if (!token) {
      return absl::UnauthenticatedError(
          absl::StrCat("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ", *file, " cannot be read"));
    }
  }
  if (token) request.headers.push_back({"Authorization", std::string(absl::StripAsciiWhitespace(*token))});
  absl::StatusOr<cloud::HttpResponse> response = http.Send(request);
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return absl::UnavailableError(
        absl::StrCat("the container credential endpoint ", url, " answered ", response->status));
  }
  return ParseTemporary(response->body, "the container credential endpoint");
}

absl::StatusOr<AwsCredentials> FetchFromInstance(const std::string& endpoint) {
  cloud::HttpClient http({.connect_timeout = absl::Seconds(1),
                          .timeout = absl::Seconds(5),
                          .ca_file = "",
                          .max_response_bytes = 64 << 10,
                          .direct = true});
  absl::StatusOr<cloud::HttpResponse> token = http.Send(
      {"PUT", absl::StrCat(endpoint, "/latest/api/token"),
       {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}, ""});
  if (!token.ok()) return token.status();
  if (token->status != 200) {
    return absl::UnavailableError(
        absl::StrCat("the instance metadata service refused a session token: ", token->status));
  }
  std::vector<cloud::HttpHeader> with_token = {{"X-aws-ec2-metadata-token", token->body}};
  std::string base = absl::StrCat(endpoint, "/latest/meta-data/iam/security-credentials/");
  absl::StatusOr<cloud::HttpResponse> role = http.Send({"GET", base, with_token, ""});
  if (!role.ok()) return role.status();
  std::string name(absl::StripAsciiWhitespace(role->body));
  if (role->status != 200 || name.empty()) {
    return absl::UnauthenticatedError(
        "the instance metadata service lists no IAM role: attach an instance profile");
  }
  name = name.substr(0, name.find('\n'));
  absl::StatusOr<cloud::HttpResponse> credentials =
      http.Send({"GET", base + name, with_token, ""});
  if (!credentials.ok()) return credentials.status();
  if (credentials->status != 200) {
    return absl::UnavailableError(absl::StrCat(
        "the instance metadata service answered ", credentials->status, " for role ", name));
  }
  return ParseTemporary(credentials->body, "the instance metadata service");
}

}  // namespace

std::unique_ptr<AwsCredentialsProvider> StaticCredentials(AwsCredentials credentials) {
  return std::make_unique<Static>(std::move(credentials), "given");
}

EnvironmentLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<std::unique_ptr<AwsCredentialsProvider>> DefaultCredentialsChain(
    const EnvironmentLookup& environment) {
  std::optional<std::string> key = environment("AWS_ACCESS_KEY_ID");
  std::optional<std::string> secret = environment("AWS_SECRET_ACCESS_KEY");
  if (key && secret) {
    return std::make_unique<Static>(
        AwsCredentials{*key, *secret, environment("AWS_SESSION_TOKEN").value_or("")},
        "environment");
  }
  if (key || secret) {
    return absl::UnauthenticatedError(
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
  }

  std::string file = environment("AWS_SHARED_CREDENTIALS_FILE")
                         .value_or(absl::StrCat(environment("HOME").value_or("/root"),
                                                "/.aws/credentials"));
  std::string profile = environment("AWS_PROFILE").value_or("default");
  if (std::optional<std::string> text = ReadFile(file)) {
    std::optional<AwsCredentials> credentials = ProfileFrom(*text, profile);
    if (!credentials) {
      return absl::UnauthenticatedError(absl::StrCat(
          "the shared credentials file ", file, " has no profile [", profile,
          "] with aws_access_key_id and aws_secret_access_key"));
    }
    return std::make_unique<Static>(*credentials, absl::StrCat(file, " [", profile, "]"));
  }

  std::optional<std::string> container = environment("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!container) {
    if (std::optional<std::string> relative = environment("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
      container = absl::StrCat("http://169.254.170.2", *relative);
    }
  }
  if (container) {
    std::string url = *container;
    // As the AWS SDKs: the container token goes only to the ECS and EKS
    // agents' link-local addresses, loopback, or over https.
    bool allowed = absl::StartsWith(url, "https://") ||
                   absl::StartsWith(url, "http://169.254.170.2/") ||
                   absl::StartsWith(url, "http://169.254.170.23/") ||
                   absl::StartsWith(url, "http://127.0.0.1:") ||
                   absl::StartsWith(url, "http://127.0.0.1/") ||
                   absl::StartsWith(url, "http://localhost:") ||
                   absl::StartsWith(url, "http://[::1]");
    if (!allowed) {
      return absl::UnauthenticatedError(absl::StrCat(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI ", url,
          " must be https, loopback, or the ECS/EKS agent's link-local address"));
    }
    return std::make_unique<Refreshing>(
        [url, environment] { return FetchFromContainer(url, environment); },
        absl::StrCat("container endpoint ", url));
  }

  std::string endpoint =
      environment("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (environment("AWS_EC2_METADATA_DISABLED").value_or("") == "true") {
    return absl::UnauthenticatedError(absl::StrCat(
        "no AWS credentials: none in AWS_ACCESS_KEY_ID, ", file,
        ", or a container endpoint, and AWS_EC2_METADATA_DISABLED is true"));
  }
  return std::make_unique<Refreshing>([endpoint] { return FetchFromInstance(endpoint); },
                                      absl::StrCat("instance metadata ", endpoint));
}

}  // namespace trenode::adapters::aws
