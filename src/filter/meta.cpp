#include "filter/meta.h"

#include <bpf/btf.h>

#include <cctype>

#include <fmt/format.h>

#include "bpfload/btf_types.h"
#include "filter/emit.h"
#include "util/strings.h"

namespace nscope::filter {
namespace {

// ---- syntax ----

struct Token {
  enum Kind { end, ident, number, string, op, lparen, rparen, dot, amp, and_, or_, not_ } kind = end;
  std::string text;
  uint64_t num = 0;
  int col = 1;
};

class Lexer {
 public:
  explicit Lexer(const std::string& s) : s_(s) {}

  Result<Token> next() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    Token t;
    t.col = static_cast<int>(i_) + 1;
    if (i_ >= s_.size()) return t;
    char c = s_[i_];
    auto two = [&](const char* w) { return s_.compare(i_, 2, w) == 0; };
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t b = i_;
      while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) ++i_;
      t.text = s_.substr(b, i_ - b);
      t.kind = t.text == "and" ? Token::and_ : t.text == "or" ? Token::or_ : t.text == "not" ? Token::not_ : Token::ident;
      return t;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t b = i_;
      while (i_ < s_.size() && std::isalnum(static_cast<unsigned char>(s_[i_]))) ++i_;
      t.text = s_.substr(b, i_ - b);
      auto v = parse_number(t.text);
      if (!v) return err(t.col, fmt::format("'{}' is not a number (decimal or 0x hex)", t.text));
      t.kind = Token::number;
      t.num = *v;
      return t;
    }
    if (c == '"') {
      ++i_;
      while (i_ < s_.size() && s_[i_] != '"') {
        if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
        t.text += s_[i_++];
      }
      if (i_ >= s_.size()) return err(t.col, "a string is not closed with '\"'");
      ++i_;
      t.kind = Token::string;
      return t;
    }
    if (two("==") || two("!=") || two("<=") || two(">=")) {
      t.kind = Token::op;
      t.text = s_.substr(i_, 2);
      i_ += 2;
      return t;
    }
    if (two("&&") || two("||")) {
      t.kind = s_[i_] == '&' ? Token::and_ : Token::or_;
      i_ += 2;
      return t;
    }
    ++i_;
    switch (c) {
      case '<': case '>': t.kind = Token::op; t.text = std::string(1, c); return t;
      case '(': t.kind = Token::lparen; return t;
      case ')': t.kind = Token::rparen; return t;
      case '.': t.kind = Token::dot; return t;
      case '&': t.kind = Token::amp; return t;
      case '!': t.kind = Token::not_; return t;
      case '-': t.kind = Token::op; t.text = "-"; return t;  // a sign, read by the parser
      case '=': return err(t.col, "'=' is not an operator: compare with '=='");
    }
    return err(t.col, fmt::format("unexpected character '{}'", c));
  }

  static Error err(int col, const std::string& what) {
    return Error::usage(fmt::format("{} (column {})", what, col));
  }

 private:
  static std::optional<uint64_t> parse_number(const std::string& t) {
    if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
      uint64_t v = 0;
      for (size_t k = 2; k < t.size(); ++k) {
        int d = std::isdigit(static_cast<unsigned char>(t[k])) ? t[k] - '0'
                : std::isxdigit(static_cast<unsigned char>(t[k])) ? std::tolower(t[k]) - 'a' + 10 : -1;
        if (d < 0 || v > (UINT64_MAX >> 4)) return std::nullopt;
        v = v << 4 | static_cast<uint64_t>(d);
      }
      return v;
    }
    return parse_u64(t);
  }

  const std::string& s_;
  size_t i_ = 0;
};

class Parser {
 public:
  explicit Parser(const std::string& s) : lex_(s) {}

  Result<std::unique_ptr<MetaNode>> parse() {
    if (auto r = advance(); !r) return r.error();
    if (tok_.kind == Token::end) return Lexer::err(1, "the expression is empty");
    auto n = parse_or();
    if (!n) return n;
    if (tok_.kind != Token::end) return Lexer::err(tok_.col, "expected 'and', 'or' or the end here");
    return n;
  }

 private:
  Result<void> advance() {
    auto t = lex_.next();
    if (!t) return t.error();
    tok_ = *t;
    return {};
  }

  Result<std::unique_ptr<MetaNode>> binary(MetaNode::Kind kind, Token::Kind tk,
                                           Result<std::unique_ptr<MetaNode>> (Parser::*sub)()) {
    auto lhs = (this->*sub)();
    if (!lhs) return lhs;
    while (tok_.kind == tk) {
      if (auto r = advance(); !r) return r.error();
      auto rhs = (this->*sub)();
      if (!rhs) return rhs;
      auto n = std::make_unique<MetaNode>();
      n->kind = kind;
      n->lhs = std::move(*lhs);
      n->rhs = std::move(*rhs);
      lhs = std::move(n);
    }
    return lhs;
  }
  Result<std::unique_ptr<MetaNode>> parse_or() { return binary(MetaNode::or_, Token::or_, &Parser::parse_and); }
  Result<std::unique_ptr<MetaNode>> parse_and() { return binary(MetaNode::and_, Token::and_, &Parser::parse_not); }

  Result<std::unique_ptr<MetaNode>> parse_not() {
    if (++depth_ > 64) return Lexer::err(tok_.col, "the expression nests too deeply");
    struct Leave { int& d; ~Leave() { --d; } } leave{depth_};
    if (tok_.kind == Token::not_) {
      if (auto r = advance(); !r) return r.error();
      auto sub = parse_not();
      if (!sub) return sub;
      auto n = std::make_unique<MetaNode>();
      n->kind = MetaNode::not_;
      n->lhs = std::move(*sub);
      return n;
    }
    if (tok_.kind == Token::lparen) {
      int col = tok_.col;
      if (auto r = advance(); !r) return r.error();
      auto n = parse_or();
      if (!n) return n;
      if (tok_.kind != Token::rparen) return Lexer::err(tok_.col, fmt::format("expected ')' to close the '(' of column {}", col));
      if (auto r = advance(); !r) return r.error();
      return n;
    }
    return parse_cmp();
  }

  Result<std::unique_ptr<MetaNode>> parse_cmp() {
    auto n = std::make_unique<MetaNode>();
    n->col = tok_.col;
    if (tok_.kind != Token::ident) return Lexer::err(tok_.col, "expected a field such as sk_buff.mark");
    for (;;) {
      n->path.push_back(tok_.text);
      n->path_cols.push_back(tok_.col);
      if (auto r = advance(); !r) return r.error();
      if (tok_.kind != Token::dot) break;
      if (auto r = advance(); !r) return r.error();
      if (tok_.kind != Token::ident) return Lexer::err(tok_.col, "expected a field name after '.'");
    }
    if (tok_.kind == Token::amp) {
      if (auto r = advance(); !r) return r.error();
      if (tok_.kind != Token::number) return Lexer::err(tok_.col, "expected a number (the mask) after '&'");
      n->has_mask = true;
      n->mask = tok_.num;
      if (auto r = advance(); !r) return r.error();
    }
    if (tok_.kind != Token::op || tok_.text == "-") {
      n->op = "!=";  // a field alone: true when not zero
      return n;
    }
    n->op = tok_.text;
    int op_col = tok_.col;
    if (auto r = advance(); !r) return r.error();
    if (tok_.kind == Token::op && tok_.text == "-") {
      if (auto r = advance(); !r) return r.error();
      if (tok_.kind != Token::number) return Lexer::err(tok_.col, "expected a number after '-'");
      n->negative = true;
      n->value = 0 - tok_.num;
    } else if (tok_.kind == Token::number) {
      n->value = tok_.num;
    } else if (tok_.kind == Token::string) {
      n->is_string = true;
      n->str = tok_.text;
    } else {
      return Lexer::err(op_col, fmt::format("expected a number or a \"string\" after '{}'", n->op));
    }
    if (auto r = advance(); !r) return r.error();
    return n;
  }

  Lexer lex_;
  Token tok_;
  int depth_ = 0;
};

// ---- fields through BTF ----

struct Field {
  std::vector<uint32_t> hops;  // byte offsets of the pointers followed, from each base
  uint32_t off = 0;            // byte offset of the value from the last base
  uint32_t size = 0;           // bytes to read; a char array's length for strings
  uint32_t shift = 0, bits = 0;  // a bitfield: shift after the read, and its width
  bool is_signed = false;
  bool is_string = false;
  std::string type_name;
};


std::string type_name(const btf* b, const btf_type* t) {
  if (!t) return "void";
  if (btf_is_typedef(t)) {  // possible_net_t: a typedef of an unnamed struct
    const char* n = btf__name_by_offset(b, t->name_off);
    return n ? n : "";
  }
  const char* n = btf__name_by_offset(b, t->name_off);
  std::string name = n ? n : "";
  if (btf_is_struct(t)) return "struct " + name;
  if (btf_is_union(t)) return "union " + name;
  if (btf_is_ptr(t)) return "a pointer";
  if (btf_is_array(t)) return "an array";
  return name.empty() ? "a value" : name;
}

// Finds `name` in struct/union `t`, also inside its anonymous members. bit_off gets the
// member's offset in bits from the start of `t`.
bool find_member(const btf* b, const btf_type* t, const std::string& name, uint32_t* bit_off,
                 uint32_t* type_id, uint32_t* bitfield) {
  const btf_member* m = btf_members(t);
  for (int i = 0; i < btf_vlen(t); ++i, ++m) {
    const char* mn = btf__name_by_offset(b, m->name_off);
    uint32_t off = btf_member_bit_offset(t, static_cast<uint32_t>(i));
    if (mn && *mn) {
      if (name == mn) {
        *bit_off = off;
        *type_id = m->type;
        *bitfield = btf_member_bitfield_size(t, static_cast<uint32_t>(i));
        return true;
      }
      continue;
    }
    const btf_type* inner = skip_btf_mods(b, m->type);
    if (inner && (btf_is_struct(inner) || btf_is_union(inner)) &&
        find_member(b, inner, name, bit_off, type_id, bitfield)) {
      *bit_off += off;
      return true;
    }
  }
  return false;
}

Result<Field> resolve(const btf* b, const MetaNode& n) {
  if (n.path.size() < 2 || n.path[0] != "sk_buff")
    return Lexer::err(n.path_cols[0], fmt::format("a field starts at sk_buff, as in sk_buff.{}", n.path.back()));
  int sid = btf__find_by_name_kind(b, "sk_buff", BTF_KIND_STRUCT);
  if (sid < 0) return Lexer::err(n.path_cols[0], "this kernel's BTF has no struct sk_buff");
  const btf_type* t = btf__type_by_id(b, static_cast<uint32_t>(sid));
  std::string t_name = "struct sk_buff";  // as declared: a typedef's name where there is one
  Field f;
  uint64_t bits = 0;  // offset from the current base
  for (size_t k = 1; k < n.path.size(); ++k) {
    const std::string& name = n.path[k];
    uint32_t off = 0, tid = 0, bitfield = 0;
    if (!find_member(b, t, name, &off, &tid, &bitfield))
      return Lexer::err(n.path_cols[k], fmt::format("no field '{}' in {}", name, t_name));
    bits += off;
    uint32_t mid = 0;
    const btf_type* mt = skip_btf_mods(b, tid, &mid);
    if (!mt) return Lexer::err(n.path_cols[k], fmt::format("'{}' has a type BTF does not describe", name));
    const bool last = k + 1 == n.path.size();
    if (!last) {
      const btf_type* declared = btf__type_by_id(b, tid);
      if (btf_is_ptr(mt)) {
        f.hops.push_back(static_cast<uint32_t>(bits / 8));
        bits = 0;
        declared = btf__type_by_id(b, mt->type);
        while (declared && (btf_is_const(declared) || btf_is_volatile(declared)))
          declared = btf__type_by_id(b, declared->type);
        mt = skip_btf_mods(b, mt->type);
      }
      if (!mt || !(btf_is_struct(mt) || btf_is_union(mt)))
        return Lexer::err(n.path_cols[k + 1],
                          fmt::format("'{}' is {}, not a struct or a pointer to one: it has no field '{}'",
                                      name, type_name(b, mt), n.path[k + 1]));
      t = mt;
      t_name = declared && btf_is_typedef(declared) ? type_name(b, declared) : type_name(b, mt);
      continue;
    }
    f.type_name = type_name(b, mt);
    if (bitfield) {
      f.off = static_cast<uint32_t>(bits / 8);
      f.shift = static_cast<uint32_t>(bits % 8);
      f.bits = bitfield;
      f.size = 8;
      f.is_signed = btf_is_int(mt) && (btf_int_encoding(mt) & BTF_INT_SIGNED);
    } else if (btf_is_int(mt) || btf_is_enum(mt) || btf_is_enum64(mt)) {
      f.off = static_cast<uint32_t>(bits / 8);
      f.size = mt->size;
      f.is_signed = btf_is_int(mt) ? (btf_int_encoding(mt) & BTF_INT_SIGNED) != 0 : btf_kflag(mt);
    } else if (btf_is_ptr(mt)) {
      f.off = static_cast<uint32_t>(bits / 8);
      f.size = 8;
    } else if (btf_is_array(mt)) {
      const struct btf_array* a = btf_array(mt);
      const btf_type* et = skip_btf_mods(b, a->type);
      if (!et || !btf_is_int(et) || et->size != 1)
        return Lexer::err(n.path_cols[k], fmt::format("'{}' is an array of {}: only char arrays compare (as strings)",
                                                      name, type_name(b, et)));
      f.off = static_cast<uint32_t>(bits / 8);
      f.size = a->nelems;
      f.is_string = true;
    } else {
      return Lexer::err(n.path_cols[k], fmt::format("'{}' is {}: name one of its fields", name, type_name(b, mt)));
    }
    if (f.size != 1 && f.size != 2 && f.size != 4 && f.size != 8 && !f.is_string)
      return Lexer::err(n.path_cols[k], fmt::format("'{}' is {} bytes wide: nscope compares 1, 2, 4 or 8", name, f.size));
  }
  // The value must be of the field's kind and fit in it.
  if (f.is_string != n.is_string) {
    if (f.is_string)
      return Lexer::err(n.col, fmt::format("{} is a char array: compare it with a \"string\"", fmt::join(n.path, ".")));
    return Lexer::err(n.col, fmt::format("{} is a number ({}): compare it with a number", fmt::join(n.path, "."), f.type_name));
  }
  if (f.is_string) {
    if (n.op != "==" && n.op != "!=") return Lexer::err(n.col, "strings compare only with == or !=");
    if (n.has_mask) return Lexer::err(n.col, "a string field takes no mask");
    if (n.str.size() > f.size || n.str.size() > 63)
      return Lexer::err(n.col, fmt::format("\"{}\" is longer than {} ({} bytes)", n.str, fmt::join(n.path, "."), f.size));
    return f;
  }
  uint32_t width = f.bits ? f.bits : f.size * 8;
  if (n.negative && !f.is_signed)
    return Lexer::err(n.col, fmt::format("{} is unsigned: a negative value never matches", fmt::join(n.path, ".")));
  if (!n.negative && !n.has_mask && width < 64 && n.value >= (uint64_t{1} << width))
    return Lexer::err(n.col, fmt::format("{} does not fit in {} ({} bits)", n.value, fmt::join(n.path, "."), width));
  return f;
}

// ---- code ----

constexpr int kSkb = 6, kBase = 7;
constexpr int16_t kSlot = -8;     // one u64 read
constexpr int16_t kStr = -72;     // 64 bytes for a string read

// r1 = fp + off, r2 = size, r3 = r(kBase) + src: bpf_probe_read_kernel; failure goes to `no`.
void read_kernel(Emitter& e, int16_t off, uint32_t size, uint32_t src, Emitter::Label no) {
  e.mov64_reg(1, 10);
  e.alu64_imm(BPF_ADD, 1, off);
  e.mov64_imm(2, static_cast<int32_t>(size));
  e.mov64_reg(3, kBase);
  if (src) e.alu64_imm(BPF_ADD, 3, static_cast<int32_t>(src));
  e.call(BPF_FUNC_probe_read_kernel);
  e.jmp_imm(BPF_JNE, 0, 0, no);
}

int jump_op(const std::string& op, bool is_signed) {
  if (op == "==") return BPF_JEQ;
  if (op == "!=") return BPF_JNE;
  if (op == "<") return is_signed ? BPF_JSLT : BPF_JLT;
  if (op == "<=") return is_signed ? BPF_JSLE : BPF_JLE;
  if (op == ">") return is_signed ? BPF_JSGT : BPF_JGT;
  return is_signed ? BPF_JSGE : BPF_JGE;
}

void gen_cmp(Emitter& e, const MetaNode& n, const Field& f, Emitter::Label yes, Emitter::Label no) {
  e.mov64_reg(kBase, kSkb);
  for (uint32_t hop : f.hops) {  // follow a pointer; NULL never matches
    read_kernel(e, kSlot, 8, hop, no);
    e.load(BPF_DW, kBase, 10, kSlot);
    e.jmp_imm(BPF_JEQ, kBase, 0, no);
  }
  if (f.is_string) {
    Emitter::Label eq_yes = n.op == "==" ? yes : no, eq_no = n.op == "==" ? no : yes;
    for (int16_t k = 0; k < 64; k += 8) e.store_imm(BPF_DW, 10, static_cast<int16_t>(kStr + k), 0);
    // The string and its terminating NUL (unless it fills the array).
    uint32_t cmp = std::min<uint32_t>(f.size, static_cast<uint32_t>(n.str.size()) + 1);
    read_kernel(e, kStr, cmp, f.off, eq_no);
    std::string want = n.str;
    want.resize(64, '\0');
    for (uint32_t k = 0; k < cmp; k += 8) {
      uint64_t chunk = 0, mask = 0;
      for (uint32_t j = 0; j < 8 && k + j < cmp; ++j) {
        chunk |= uint64_t{static_cast<uint8_t>(want[k + j])} << (8 * j);
        mask |= uint64_t{0xff} << (8 * j);
      }
      e.load(BPF_DW, 0, 10, static_cast<int16_t>(kStr + static_cast<int16_t>(k)));
      if (mask != ~uint64_t{0}) {
        e.ld_imm64(1, mask);
        e.alu64_reg(BPF_AND, 0, 1);
      }
      e.ld_imm64(1, chunk);
      e.jmp_reg(BPF_JNE, 0, 1, eq_no);
    }
    e.ja(eq_yes);
    return;
  }
  e.store_imm(BPF_DW, 10, kSlot, 0);
  read_kernel(e, kSlot, f.size, f.off, no);
  e.load(BPF_DW, 0, 10, kSlot);
  uint32_t width = f.size * 8;
  if (f.bits) {
    if (f.shift) e.alu64_imm(BPF_RSH, 0, static_cast<int32_t>(f.shift));
    e.ld_imm64(1, f.bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << f.bits) - 1);
    e.alu64_reg(BPF_AND, 0, 1);
    width = f.bits;
  }
  if (f.is_signed && width < 64) {  // sign-extend for signed comparisons
    e.alu64_imm(BPF_LSH, 0, static_cast<int32_t>(64 - width));
    e.alu64_imm(BPF_ARSH, 0, static_cast<int32_t>(64 - width));
  }
  if (n.has_mask) {
    e.ld_imm64(1, n.mask);
    e.alu64_reg(BPF_AND, 0, 1);
  }
  e.ld_imm64(1, n.value);
  e.jmp_reg(jump_op(n.op, f.is_signed && !n.has_mask), 0, 1, yes);
  e.ja(no);
}

Result<void> gen(Emitter& e, const btf* b, const MetaNode& n, Emitter::Label yes, Emitter::Label no) {
  switch (n.kind) {
    case MetaNode::cmp: {
      auto f = resolve(b, n);
      if (!f) return f.error();
      gen_cmp(e, n, *f, yes, no);
      return {};
    }
    case MetaNode::not_:
      return gen(e, b, *n.lhs, no, yes);
    case MetaNode::and_: {
      Emitter::Label mid = e.label();
      if (auto r = gen(e, b, *n.lhs, mid, no); !r) return r;
      e.bind(mid);
      return gen(e, b, *n.rhs, yes, no);
    }
    case MetaNode::or_: {
      Emitter::Label mid = e.label();
      if (auto r = gen(e, b, *n.lhs, yes, mid); !r) return r;
      e.bind(mid);
      return gen(e, b, *n.rhs, yes, no);
    }
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<MetaNode>> parse_meta(const std::string& expr) { return Parser(expr).parse(); }

Result<std::vector<bpf_insn>> compile_meta_filter(const std::string& expr, const btf* vmlinux) {
  auto tree = parse_meta(expr);
  if (!tree) return tree.error();
  Emitter e;
  Emitter::Label yes = e.label(), no = e.label();
  e.mov64_reg(kSkb, 1);
  if (auto r = gen(e, vmlinux, **tree, yes, no); !r) return r.error();
  e.bind(yes);
  e.mov64_imm(0, 1);
  e.exit();
  e.bind(no);
  e.mov64_imm(0, 0);
  e.exit();
  std::vector<bpf_insn> out;
  if (!e.finish(&out) || out.size() > 60000) return Error::usage("the expression is too long");
  return out;
}

}  // namespace nscope::filter
