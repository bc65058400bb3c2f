// Go text/template lexing rules; see lex.h.
#include "lex.h"

namespace beacon::tmpl {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool IsAlnum(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

Tok Keyword(std::string_view w) {
  static constexpr std::pair<std::string_view, Tok> kWords[] = {
      {"if", Tok::kIf},       {"else", Tok::kElse},
      {"end", Tok::kEnd},     {"range", Tok::kRange},
      {"with", Tok::kWith},   {"define", Tok::kDefine},
      {"block", Tok::kBlock}, {"template", Tok::kTemplate},
      {"break", Tok::kBreak}, {"continue", Tok::kContinue},
      {"nil", Tok::kNil},     {"true", Tok::kBool},
      {"false", Tok::kBool}};
  for (const auto& [k, t] : kWords) {
    if (k == w) return t;
  }
  return Tok::kIdentifier;
}

class Lexer {
 public:
  Lexer(std::string_view src, std::string_view l, std::string_view r) : s_(src), l_(l), r_(r) {}

  LexResult Run() {
    bool trim_next = false;
    while (true) {
      size_t open = s_.find(l_, pos_);
      size_t end = open == std::string_view::npos ? s_.size() : open;
      std::string_view text = s_.substr(pos_, end - pos_);
      size_t text_pos = pos_;
      if (trim_next) {
        while (!text.empty() && IsSpace(text.front())) {
          text.remove_prefix(1);
          ++text_pos;
        }
      }
      bool left_trim = open != std::string_view::npos && open + l_.size() + 1 < s_.size() &&
                       s_[open + l_.size()] == '-' && IsSpace(s_[open + l_.size() + 1]);
      if (left_trim) {
        while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
      }
      if (!text.empty()) Emit(Tok::kText, text_pos, text);
      if (open == std::string_view::npos) break;
      pos_ = open + l_.size() + (left_trim ? 2 : 0);
      if (!Action(open, &trim_next)) return std::move(out_);
    }
    Emit(Tok::kEOF, s_.size(), {});
    return std::move(out_);
  }

 private:
  void Emit(Tok t, size_t p, std::string_view text) {
    out_.tokens.push_back(Token{t, p, text, space_});
    space_ = false;
  }
  bool Fail(size_t p, std::string msg) {
    out_.error = std::move(msg);
    out_.error_pos = p;
    return false;
  }
  // At s_[p]: a right delimiter, optionally preceded by " -". Sets *len and *trim.
  bool AtRight(size_t p, size_t* len, bool* trim) const {
    if (p + 1 < s_.size() && IsSpace(s_[p]) && s_[p + 1] == '-' &&
        s_.substr(p + 2, r_.size()) == r_) {
      *len = 2 + r_.size();
      *trim = true;
      return true;
    }
    if (s_.substr(p, r_.size()) == r_) {
      *len = r_.size();
      *trim = false;
      return true;
    }
    return false;
  }

  bool Action(size_t open, bool* trim_next) {
    space_ = false;
    size_t len = 0;
    // A comment must start right after the delimiter (and trim marker).
    if (s_.substr(pos_, 2) == "/*") {
      size_t close = s_.find("*/", pos_ + 2);
      if (close == std::string_view::npos) return Fail(open, "unclosed comment");
      pos_ = close + 2;
      if (!AtRight(pos_, &len, trim_next)) {
        return Fail(open, "comment ends before closing delimiter");
      }
      pos_ += len;
      return true;
    }
    Emit(Tok::kLeftDelim, open, s_.substr(open, l_.size()));
    int parens = 0;
    while (true) {
      if (AtRight(pos_, &len, trim_next)) {
        if (parens > 0) return Fail(pos_, "unclosed left paren");
        Emit(Tok::kRightDelim, pos_, s_.substr(pos_, len));
        pos_ += len;
        return true;
      }
      if (pos_ >= s_.size()) return Fail(open, "unclosed action");
      char c = s_[pos_];
      size_t start = pos_;
      if (IsSpace(c)) {
        while (pos_ < s_.size() && IsSpace(s_[pos_]) && !AtRight(pos_, &len, trim_next)) ++pos_;
        space_ = true;
        continue;
      }
      switch (c) {
        case '|':
          ++pos_;
          Emit(Tok::kPipe, start, s_.substr(start, 1));
          continue;
        case ',':
          ++pos_;
          Emit(Tok::kComma, start, s_.substr(start, 1));
          continue;
        case '=':
          ++pos_;
          Emit(Tok::kAssign, start, s_.substr(start, 1));
          continue;
        case '(':
          ++pos_;
          ++parens;
          Emit(Tok::kLeftParen, start, s_.substr(start, 1));
          continue;
        case ')':
          if (--parens < 0) return Fail(start, "unexpected right paren");
          ++pos_;
          Emit(Tok::kRightParen, start, s_.substr(start, 1));
          continue;
        case ':':
          if (s_.substr(pos_, 2) != ":=") return Fail(start, "expected :=");
          pos_ += 2;
          Emit(Tok::kDeclare, start, s_.substr(start, 2));
          continue;
        case '"':
        case '\'': {
          ++pos_;
          while (true) {
            if (pos_ >= s_.size() || s_[pos_] == '\n') {
              return Fail(start, c == '"' ? "unterminated quoted string"
                                          : "unterminated character constant");
            }
            if (s_[pos_] == '\\')
              ++pos_;
            else if (s_[pos_] == c)
              break;
            ++pos_;
          }
          ++pos_;
          Emit(c == '"' ? Tok::kString : Tok::kChar, start, s_.substr(start, pos_ - start));
          continue;
        }
        case '`': {
          size_t close = s_.find('`', pos_ + 1);
          if (close == std::string_view::npos) return Fail(start, "unterminated raw quoted string");
          pos_ = close + 1;
          Emit(Tok::kRawString, start, s_.substr(start, pos_ - start));
          continue;
        }
        case '$':
          ++pos_;
          while (pos_ < s_.size() && IsAlnum(s_[pos_])) ++pos_;
          Emit(Tok::kVariable, start, s_.substr(start, pos_ - start));
          continue;
        case '.':
          if (pos_ + 1 < s_.size() && IsDigit(s_[pos_ + 1])) break;  // a number
          ++pos_;
          if (pos_ < s_.size() && IsAlnum(s_[pos_])) {
            while (pos_ < s_.size() && IsAlnum(s_[pos_])) ++pos_;
            Emit(Tok::kField, start, s_.substr(start, pos_ - start));
          } else {
            Emit(Tok::kDot, start, s_.substr(start, 1));
          }
          continue;
        default:
          break;
      }
      if (c == '+' || c == '-' || c == '.' || IsDigit(c)) {
        ++pos_;
        while (pos_ < s_.size() && (IsAlnum(s_[pos_]) || s_[pos_] == '.' ||
                                    ((s_[pos_] == '+' || s_[pos_] == '-') &&
                                     (s_[pos_ - 1] == 'e' || s_[pos_ - 1] == 'E' ||
                                      s_[pos_ - 1] == 'p' || s_[pos_ - 1] == 'P')))) {
          ++pos_;
        }
        Emit(Tok::kNumber, start, s_.substr(start, pos_ - start));
        continue;
      }
      if (IsAlnum(c)) {
        while (pos_ < s_.size() && IsAlnum(s_[pos_])) ++pos_;
        std::string_view w = s_.substr(start, pos_ - start);
        Emit(Keyword(w), start, w);
        continue;
      }
      std::string msg = "unrecognized character in action: ";
      msg += c;
      return Fail(start, msg);
    }
  }

  std::string_view s_, l_, r_;
  size_t pos_ = 0;
  bool space_ = false;
  LexResult out_;
};

}  // namespace

LexResult Lex(std::string_view src, std::string_view left, std::string_view right) {
  return Lexer(src, left, right).Run();
}

std::string LineCol(std::string_view src, size_t pos) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < pos && i < src.size(); ++i) {
    if (src[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

}  // namespace beacon::tmpl
