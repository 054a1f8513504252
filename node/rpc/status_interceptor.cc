#include "node/rpc/status_interceptor.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace trenode::rpc {
namespace {

class ParseFailureInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit ParseFailureInterceptor(std::string method) : method_(std::move(method)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::INTERNAL && status.error_message().empty()) {
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("the request to ", method_,
                         " is not a valid message: malformed protobuf, text that is not valid "
                         "UTF-8, or messages nested more than 100 deep")));
      }
    }
    methods->Proceed();
  }

 private:
  std::string method_;
};

}  // namespace

grpc::experimental::Interceptor* ParseFailureInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new ParseFailureInterceptor(info->method());
}

}  // namespace trenode::rpc
