#include "adapters/azure/batch_json.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace trenode::adapters::azure {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

Value String(absl::string_view text) {
  Value value;
  value.set_string_value(std::string(text));
  return value;
}

Value Number(double number) {
  Value value;
  value.set_number_value(number);
  return value;
}

Value Object(Struct fields) {
  Value value;
  *value.mutable_struct_value() = std::move(fields);
  return value;
}

std::string ToJson(const Struct& fields) {
  std::string json;
  // Struct always prints; a failure here would be a protobuf bug.
  (void)google::protobuf::util::MessageToJsonString(fields, &json);
  return json;
}

absl::StatusOr<Struct> FromJson(absl::string_view body, absl::string_view what) {
  Struct fields;
  if (!google::protobuf::util::JsonStringToMessage(std::string(body), &fields).ok()) {
    return absl::UnavailableError(absl::StrCat("Azure Batch answered ", what, " with no JSON"));
  }
  return fields;
}

const Value* Field(const Struct& object, const std::string& name) {
  auto it = object.fields().find(name);
  return it == object.fields().end() ? nullptr : &it->second;
}

std::string StringField(const Struct& object, const std::string& name) {
  const Value* value = Field(object, name);
  return value == nullptr ? "" : value->string_value();
}

const Struct& ObjectField(const Struct& object, const std::string& name) {
  const Value* value = Field(object, name);
  return value == nullptr ? Struct::default_instance() : value->struct_value();
}

}  // namespace

std::string AddTaskBody(const cloud::BatchSubmission& submission,
                        const BatchTaskTemplate& task) {
  Struct body;
  auto& fields = *body.mutable_fields();
  fields["id"] = String(submission.name);
  fields["commandLine"] = String(task.runner_path);
  Struct container;
  (*container.mutable_fields())["imageName"] = String(task.image);
  // None of the node's Batch directories (by default the whole node root,
  // with its shared/ folder every task may write, read-write) is mounted
  // into the job's container: nothing passes between jobs on one VM.
  Value no_mounts;
  no_mounts.mutable_list_value();
  (*container.mutable_fields())["containerHostBatchBindMounts"] = std::move(no_mounts);
  fields["containerSettings"] = Object(std::move(container));
  Value environment;
  ListValue& settings = *environment.mutable_list_value();
  for (const auto& [name, value] : submission.environment) {
    Struct setting;
    (*setting.mutable_fields())["name"] = String(name);
    (*setting.mutable_fields())["value"] = String(value);
    *settings.add_values() = Object(std::move(setting));
  }
  fields["environmentSettings"] = std::move(environment);
  Struct constraints;
  int64_t seconds = std::max<int64_t>(1, absl::ToInt64Seconds(submission.timeout));
  (*constraints.mutable_fields())["maxWallClockTime"] = String(absl::StrCat("PT", seconds, "S"));
  (*constraints.mutable_fields())["maxTaskRetryCount"] = Number(0);
  fields["constraints"] = Object(std::move(constraints));
  Struct auto_user;
  (*auto_user.mutable_fields())["scope"] = String("task");
  (*auto_user.mutable_fields())["elevationLevel"] = String("admin");
  Struct identity;
  (*identity.mutable_fields())["autoUser"] = Object(std::move(auto_user));
  fields["userIdentity"] = Object(std::move(identity));
  return ToJson(body);
}

std::string AddJobBody(absl::string_view job_id, absl::string_view pool_id) {
  Struct body;
  (*body.mutable_fields())["id"] = String(job_id);
  Struct pool;
  (*pool.mutable_fields())["poolId"] = String(pool_id);
  (*body.mutable_fields())["poolInfo"] = Object(std::move(pool));
  return ToJson(body);
}

absl::StatusOr<cloud::BatchJob> ParseTask(absl::string_view body) {
  absl::StatusOr<Struct> task = FromJson(body, "Get Task");
  if (!task.ok()) return task.status();
  const std::string state = StringField(*task, "state");
  cloud::BatchJob job;
  if (state == "active" || state == "preparing") {
    job.phase = cloud::BatchPhase::kWaiting;
    return job;
  }
  if (state == "running") {
    job.phase = cloud::BatchPhase::kRunning;
    return job;
  }
  if (state != "completed") {
    return absl::UnavailableError(
        absl::StrCat("Azure Batch answered Get Task with an unknown state \"", state, "\""));
  }
  const Struct& execution = ObjectField(*task, "executionInfo");
  if (const Value* exit_code = Field(execution, "exitCode");
      exit_code != nullptr && exit_code->kind_case() == Value::kNumberValue) {
    job.exit_code = static_cast<int>(exit_code->number_value());
  }
  const std::string result = StringField(execution, "result");
  bool succeeded = result.empty() ? job.exit_code == 0 : result == "success";
  job.phase = succeeded ? cloud::BatchPhase::kSucceeded : cloud::BatchPhase::kFailed;
  const Struct& failure = ObjectField(execution, "failureInfo");
  const std::string code = StringField(failure, "code");
  job.reason = StringField(failure, "message");
  if (!code.empty()) absl::StrAppend(&job.reason, job.reason.empty() ? "" : " ", "(", code, ")");
  return job;
}

absl::StatusOr<BatchJobInfo> ParseJob(absl::string_view body) {
  absl::StatusOr<Struct> job = FromJson(body, "Get Job");
  if (!job.ok()) return job.status();
  return BatchJobInfo{StringField(*job, "state"),
                      StringField(ObjectField(*job, "poolInfo"), "poolId")};
}

BatchServiceError ParseError(absl::string_view body) {
  BatchServiceError error{"(no error code)", ""};
  absl::StatusOr<Struct> document = FromJson(body, "an error");
  if (!document.ok()) return error;
  if (std::string code = StringField(*document, "code"); !code.empty()) error.code = code;
  error.message = StringField(ObjectField(*document, "message"), "value");
  error.message = error.message.substr(0, error.message.find('\n'));
  return error;
}

}  // namespace trenode::adapters::azure
