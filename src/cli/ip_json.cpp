// ip's JSON layout over nlohmann values. The writer state mirrors
// lib/json_writer.c: a depth and a pending separator.
#include "cli/ip_json.hpp"

#include <type_traits>

namespace subnic::cli {

namespace {

template <class J>
class Writer {
 public:
  explicit Writer(bool pretty) : pretty_{pretty} {}

  void value(const J& v) {
    if (v.is_object()) {
      begin('{');
      for (const auto& [key, member] : v.items()) {
        name(key);
        value(member);
      }
      end('}');
    } else if (v.is_array()) {
      begin('[');
      if (pretty_) {
        out_ += ' ';
      }
      for (const auto& element : v) {
        value(element);
      }
      if (pretty_ && sep_ != '\0') {
        out_ += ' ';
      }
      sep_ = '\0';
      end(']');
    } else {
      end_of_record();
      if constexpr (std::is_same_v<J, ctl::Json>) {
        out_ += ctl::dump_compact(v);
      } else {
        out_ += v.dump(-1, ' ', false, J::error_handler_t::replace);
      }
    }
  }

  std::string take() { return std::move(out_); }

 private:
  void indent() {
    for (int i = 0; i < depth_; ++i) {
      out_ += "    ";
    }
  }
  void end_of_line() {
    if (pretty_) {
      out_ += '\n';
      indent();
    }
  }
  void end_of_record() {
    if (sep_ != '\0') {
      out_ += sep_;
    }
    sep_ = ',';
  }
  void begin(char c) {
    end_of_record();
    out_ += c;
    ++depth_;
    sep_ = '\0';
  }
  void end(char c) {
    --depth_;
    if (sep_ != '\0') {
      end_of_line();
    }
    out_ += c;
    sep_ = ',';
  }
  void name(const std::string& key) {
    end_of_record();
    end_of_line();
    sep_ = '\0';
    out_ += ctl::dump_compact(ctl::Json(key));
    out_ += ':';
    if (pretty_) {
      out_ += ' ';
    }
  }

  bool pretty_;
  int depth_ = 0;
  char sep_ = '\0';
  std::string out_;
};

}  // namespace

std::string format_ip_json(const ctl::Json& value, bool pretty) {
  Writer<ctl::Json> w{pretty};
  w.value(value);
  return w.take() + "\n";
}

std::string format_ip_json(const OrderedJson& value, bool pretty) {
  Writer<OrderedJson> w{pretty};
  w.value(value);
  return w.take() + "\n";
}

}  // namespace subnic::cli
