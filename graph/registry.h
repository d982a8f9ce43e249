// The stage registry: stage types registered by class name with one line,
//   RESACT_REGISTER_STAGE(Sessionize);
// A duplicate name is an error; an unknown name lists the known ones.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "graph/stage.h"

namespace resact {

struct StageRegistration {
  std::string type;
  // Descriptor and default instance of the stage's options message.
  const google::protobuf::Descriptor* options_descriptor = nullptr;
  const google::protobuf::Message* options_default = nullptr;
  std::function<std::unique_ptr<Stage>()> factory;
};

class StageRegistry {
 public:
  static StageRegistry& Global();

  // Records a registration; a second one under the same name makes status()
  // an error naming it.
  bool Register(StageRegistration reg);
  // OK unless a duplicate registration happened.
  absl::Status status() const;
  absl::StatusOr<const StageRegistration*> Find(const std::string& type) const;
  std::vector<const StageRegistration*> List() const;

 private:
  std::map<std::string, StageRegistration> stages_;
  std::vector<std::string> duplicates_;
};

namespace internal {
template <class StageClass>
bool RegisterStage(const char* name) {
  StageRegistration reg;
  reg.type = name;
  reg.options_descriptor = StageClass::OptionsType::descriptor();
  reg.options_default = &StageClass::OptionsType::default_instance();
  reg.factory = [] { return std::unique_ptr<Stage>(new StageClass()); };
  return StageRegistry::Global().Register(std::move(reg));
}
}  // namespace internal

}  // namespace resact

#define RESACT_REGISTER_STAGE(ClassName)                                      \
  static const bool RESACT_CONCAT_(resact_registered_, ClassName) [[maybe_unused]] = \
      ::resact::internal::RegisterStage<ClassName>(#ClassName)
