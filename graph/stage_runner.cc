#include "graph/stage_runner.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "graph/option_ranges.h"
#include "graph/spec.h"

namespace resact {

absl::StatusOr<std::unique_ptr<StageRunner>> StageRunner::Create(
    const std::string& stage_spec_text, const std::string& workdir) {
  auto r = std::unique_ptr<StageRunner>(new StageRunner());
  if (!google::protobuf::TextFormat::ParseFromString(stage_spec_text, &r->spec_)) {
    return absl::InvalidArgumentError("StageRunner: cannot parse the StageSpec text");
  }
  ASSIGN_OR_RETURN(const StageRegistration* reg, StageRegistry::Global().Find(r->spec_.type()));
  RETURN_IF_ERROR(Annotate(CheckOptionRanges(r->spec_), StagePrefix(r->spec_)));
  ASSIGN_OR_RETURN(r->options_, UnpackOptions(r->spec_, *reg));
  RETURN_IF_ERROR(Annotate(CheckOptionRanges(*r->options_),
                           absl::StrCat(StagePrefix(r->spec_), "options: ")));
  r->stage_ = reg->factory();
  absl::Status s = r->stage_->Configure(*r->options_);
  if (!s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(StagePrefix(r->spec_), "options: ", s.message()));
  }
  r->contract_ = r->stage_->Contract();
  r->outputs_.resize(r->contract_.outputs.size());
  std::string dir = workdir;
  if (dir.empty()) {
    dir = (std::filesystem::temp_directory_path() / "resact_stage_XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) {
      return absl::InternalError(
          absl::StrCat("StageRunner: cannot create a temporary workdir ", dir, ": ",
                       std::strerror(errno)));
    }
    r->temporary_dir_ = dir;
  }
  std::filesystem::create_directories(dir);
  r->ctx_ = std::make_unique<StageContext>(r->spec_.name(), dir, &r->progress_, &r->cancelled_);
  RETURN_IF_ERROR(Annotate(r->stage_->Open(*r->ctx_), StagePrefix(r->spec_)));
  return r;
}

StageRunner::~StageRunner() {
  // The stage and its context may hold files in the workdir: close them first.
  stage_.reset();
  ctx_.reset();
  if (!temporary_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temporary_dir_, ec);
  }
}

absl::Status StageRunner::Feed(int input, Packet packet) {
  if (input < 0 || input >= static_cast<int>(contract_.inputs.size())) {
    return absl::InvalidArgumentError(absl::StrCat("no input ", input));
  }
  if (packet.type != contract_.inputs[input]) {
    return absl::InvalidArgumentError(absl::StrCat("input ", input, " expects ",
                                                   PayloadTypeName(contract_.inputs[input])));
  }
  return Annotate(stage_->Process(input, packet, *this), StagePrefix(spec_));
}

absl::Status StageRunner::Generate() {
  return Annotate(stage_->Generate(*this), StagePrefix(spec_));
}

absl::Status StageRunner::Close() { return Annotate(stage_->Close(*this), StagePrefix(spec_)); }

void StageRunner::ClearOutputs() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& v : outputs_) v.clear();
}

absl::Status StageRunner::Emit(int output, Packet packet) {
  if (output < 0 || output >= static_cast<int>(contract_.outputs.size())) {
    return absl::InternalError(absl::StrCat("emitted on undeclared output ", output));
  }
  if (packet.type != contract_.outputs[output]) {
    return absl::InternalError(absl::StrCat("emitted ", PayloadTypeName(packet.type),
                                            " on output ", output));
  }
  std::lock_guard<std::mutex> lock(mu_);
  outputs_[output].push_back(std::move(packet));
  return absl::OkStatus();
}

}  // namespace resact
