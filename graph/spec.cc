#include "graph/spec.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "graph/option_range.pb.h"

namespace resact {
namespace {

namespace pb = google::protobuf;

class CollectErrors : public pb::io::ErrorCollector {
 public:
  explicit CollectErrors(std::string origin) : origin_(std::move(origin)) {}
  void AddError(int line, int column, const std::string& message) override {
    if (!first_.empty()) return;
    first_ = absl::StrCat(origin_, ":", line + 1, ":", column + 1, ": ", message);
  }
  void AddWarning(int, int, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string origin_;
  std::string first_;
};

std::string TypeUrl(const pb::Descriptor* d) {
  return absl::StrCat("type.googleapis.com/", d->full_name());
}

// Sets one (possibly repeated) field of `msg` from its text `value`.
absl::Status SetField(pb::Message* msg, const pb::FieldDescriptor* field,
                      const std::string& value) {
  const pb::Reflection* refl = msg->GetReflection();
  std::vector<std::string> parts;
  if (field->is_repeated()) {
    refl->ClearField(msg, field);
    parts = absl::StrSplit(value, ',', absl::SkipEmpty());
  } else {
    parts.push_back(value);
  }
  for (const std::string& part : parts) {
    if (field->type() == pb::FieldDescriptor::TYPE_STRING ||
        field->type() == pb::FieldDescriptor::TYPE_BYTES) {
      // C escapes: '\t' is a tab, '\\' a backslash.
      std::string unescaped, error;
      if (!absl::CUnescape(part, &unescaped, &error)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "field '", field->name(), "': bad escape in '", part, "': ", error,
            " (string values take C escapes such as \\t for a tab; a backslash is \\\\)"));
      }
      if (field->is_repeated()) {
        refl->AddString(msg, field, unescaped);
      } else {
        refl->SetString(msg, field, unescaped);
      }
      continue;
    }
    if (field->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      return absl::InvalidArgumentError(absl::StrCat(
          "field '", field->name(), "' is a message; set its fields with a dotted path"));
    }
    // For a repeated field this appends one element. The parser reports to
    // the collector, not to protobuf's log.
    pb::TextFormat::Parser parser;
    CollectErrors errors(part);
    parser.RecordErrorsTo(&errors);
    if (!parser.ParseFieldValueFromString(part, field, msg)) {
      std::string expected = field->type_name();
      if (field->enum_type() != nullptr) {
        std::vector<std::string> names;
        for (int i = 0; i < field->enum_type()->value_count(); ++i) {
          names.push_back(field->enum_type()->value(i)->name());
        }
        expected = absl::StrCat("one of ", absl::StrJoin(names, ", "));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "field '", field->name(), "': cannot parse '", part, "', expected ", expected));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string StagePrefix(const StageSpec& stage) {
  return absl::StrCat("stage '", stage.name(), "' (", stage.type(), "): ");
}

namespace {

// Offset of the first NUL byte or invalid UTF-8 sequence in `text`, or -1.
int64_t FirstBinaryByte(const std::string& text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c == 0) return static_cast<int64_t>(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return static_cast<int64_t>(i);
    }
    if (i + len > n) return static_cast<int64_t>(i);
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return static_cast<int64_t>(i);
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return static_cast<int64_t>(i);
    }
    i += len;
  }
  return -1;
}

constexpr char kSpecExample[] = "expected a .pbtxt file such as pipelines/quickstart.pbtxt";

}  // namespace

absl::StatusOr<PipelineSpec> ParseSpec(const std::string& text, const std::string& origin) {
  const int64_t binary_at = FirstBinaryByte(text);
  if (binary_at >= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": not a text-format pipeline spec (binary data at byte ", binary_at,
                     "); ", kSpecExample));
  }
  PipelineSpec spec;
  pb::TextFormat::Parser parser;
  CollectErrors errors(origin);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &spec)) {
    return absl::InvalidArgumentError(
        errors.first().empty() ? absl::StrCat(origin, ": not a valid PipelineSpec")
                               : errors.first());
  }
  return spec;
}

absl::StatusOr<PipelineSpec> LoadSpec(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec '", path, "' is a directory; ", kSpecExample));
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string why = err != 0 ? std::strerror(err) : "cannot open";
    if (err == ENOENT || err == 0) {
      return absl::NotFoundError(absl::StrCat("cannot read spec file '", path, "': ", why));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read spec file '", path, "': ", why));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read spec file '", path, "': ", std::strerror(errno)));
  }
  return ParseSpec(buf.str(), path);
}

absl::StatusOr<std::unique_ptr<pb::Message>> UnpackOptions(const StageSpec& stage,
                                                           const StageRegistration& reg) {
  std::unique_ptr<pb::Message> msg(reg.options_default->New());
  if (!stage.has_options()) return msg;
  const std::string want = TypeUrl(reg.options_descriptor);
  if (stage.options().type_url() != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        StagePrefix(stage), "field 'options': expected [", want, "], got [",
        stage.options().type_url(), "]"));
  }
  if (!msg->ParseFromString(stage.options().value())) {
    return absl::InvalidArgumentError(
        absl::StrCat(StagePrefix(stage), "field 'options': does not parse as ",
                     reg.options_descriptor->full_name()));
  }
  return msg;
}

absl::Status ApplyOverride(PipelineSpec& spec, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  const size_t dot = assignment.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--set '", assignment, "': expected STAGE.OPTION=VALUE, e.g. ingest.path=ratings.csv"));
  }
  const std::string stage_name = assignment.substr(0, dot);
  const std::string path = assignment.substr(dot + 1, eq - dot - 1);
  const std::string value = assignment.substr(eq + 1);
  StageSpec* stage = nullptr;
  std::vector<std::string> names;
  for (StageSpec& s : *spec.mutable_stage()) {
    names.push_back(s.name());
    if (s.name() == stage_name) stage = &s;
  }
  if (stage == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("--set '", assignment, "': no stage named '",
                                                   stage_name, "'; stages: ",
                                                   absl::StrJoin(names, ", ")));
  }
  const std::string prefix = absl::StrCat("--set '", assignment, "': ", StagePrefix(*stage));
  // StageSpec fields that make sense to override.
  if (path == "concurrency" || path == "max_in_flight") {
    int v = 0;
    if (!absl::SimpleAtoi(value, &v)) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, "expected an integer"));
    }
    if (path == "concurrency") stage->set_concurrency(v);
    else stage->set_max_in_flight(v);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const StageRegistration* reg,
                   StageRegistry::Global().Find(stage->type()));
  ASSIGN_OR_RETURN(std::unique_ptr<pb::Message> opts, UnpackOptions(*stage, *reg));
  pb::Message* msg = opts.get();
  std::vector<std::string> fields = absl::StrSplit(path, '.');
  for (size_t i = 0; i < fields.size(); ++i) {
    const pb::FieldDescriptor* f = msg->GetDescriptor()->FindFieldByName(fields[i]);
    if (f == nullptr) {
      std::vector<std::string> known;
      for (int k = 0; k < msg->GetDescriptor()->field_count(); ++k) {
        known.push_back(msg->GetDescriptor()->field(k)->name());
      }
      return absl::InvalidArgumentError(absl::StrCat(
          prefix, msg->GetDescriptor()->full_name(), " has no field '", fields[i],
          "'; fields: ", absl::StrJoin(known, ", ")));
    }
    if (i + 1 < fields.size()) {
      if (f->type() != pb::FieldDescriptor::TYPE_MESSAGE || f->is_repeated()) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, "field '", fields[i], "' is not a nested message"));
      }
      msg = msg->GetReflection()->MutableMessage(msg, f);
      continue;
    }
    absl::Status s = SetField(msg, f, value);
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(prefix, s.message()));
  }
  stage->mutable_options()->PackFrom(*opts);
  return absl::OkStatus();
}

std::string DescribeOptions(const pb::Descriptor* d, const std::string& indent) {
  std::string out;
  // Sub-messages' fields follow their field, indented; `open` guards cycles.
  std::vector<const pb::Descriptor*> open;
  std::function<void(const pb::Descriptor*, const std::string&)> describe =
      [&](const pb::Descriptor* m, const std::string& ind) {
    open.push_back(m);
    for (int i = 0; i < m->field_count(); ++i) {
      const pb::FieldDescriptor* f = m->field(i);
      std::string type = f->type_name();
      if (f->enum_type() != nullptr) type = f->enum_type()->name();
      if (f->message_type() != nullptr) type = f->message_type()->name();
      absl::StrAppend(&out, ind, f->name(), " (", f->is_repeated() ? "repeated " : "", type);
      if (f->has_default_value()) {
        std::string def;
        switch (f->cpp_type()) {
          case pb::FieldDescriptor::CPPTYPE_STRING: def = "\"" + f->default_value_string() + "\""; break;
          case pb::FieldDescriptor::CPPTYPE_INT32: def = absl::StrCat(f->default_value_int32()); break;
          case pb::FieldDescriptor::CPPTYPE_INT64: def = absl::StrCat(f->default_value_int64()); break;
          case pb::FieldDescriptor::CPPTYPE_UINT32: def = absl::StrCat(f->default_value_uint32()); break;
          case pb::FieldDescriptor::CPPTYPE_UINT64: def = absl::StrCat(f->default_value_uint64()); break;
          case pb::FieldDescriptor::CPPTYPE_FLOAT: def = absl::StrCat(f->default_value_float()); break;
          case pb::FieldDescriptor::CPPTYPE_DOUBLE: def = absl::StrCat(f->default_value_double()); break;
          case pb::FieldDescriptor::CPPTYPE_BOOL: def = f->default_value_bool() ? "true" : "false"; break;
          case pb::FieldDescriptor::CPPTYPE_ENUM: def = f->default_value_enum()->name(); break;
          default: break;
        }
        if (!def.empty()) absl::StrAppend(&out, ", default ", def);
      }
      if (f->options().HasExtension(resact::range)) {
        absl::StrAppend(&out, ", range ", f->options().GetExtension(resact::range));
      }
      absl::StrAppend(&out, ")\n");
      const pb::Descriptor* sub = f->message_type();
      if (sub != nullptr && sub->full_name().rfind("google.protobuf.", 0) != 0 &&
          std::find(open.begin(), open.end(), sub) == open.end()) {
        describe(sub, ind + "  ");
      }
    }
    open.pop_back();
  };
  describe(d, indent);
  return out;
}

}  // namespace resact
