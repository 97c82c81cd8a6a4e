"""The C-preprocessor subset DFOS rule files use, before the OCA parser sees the text.

DFOS compiles `<instr>.h` with gcc's preprocessor into one `.RLS` file: `#include` pulls in
the classification, organisation and association files, `#define` names repeated
conditions (object-like and function-like macros), `#ifdef`/`#ifndef`/`#if`/`#elif`/
`#else`/`#endif` switch parts on and off (`#if` takes C integer expressions with
`defined`). Comments (`//`, `/* */`) are blanked here too, so that the parser's line and
column numbers stay those of the original file; CRLF and CR line ends and a byte-order
mark are read as gcc reads them.

The result keeps, for every output line, the file and line it came from, so that a syntax
error names the place an operator has to edit — also inside an included file.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DIRECTIVE = re.compile(r"^\s*#\s*([A-Za-z]*)\s*(.*)$")
DEFINED = re.compile(r"\bdefined\s*(?:\(\s*([A-Za-z_]\w*)\s*\)|([A-Za-z_]\w*))", re.A)
IF_TOKEN = re.compile(r"\d+[uUlL]*|[A-Za-z_][A-Za-z0-9_]*|&&|\|\||==|!=|<=|>=|[-+*/%()!~<>]")
MAX_INCLUDE_DEPTH = 32
MAX_EXPANSIONS = 10_000


class OcaSyntaxError(Exception):
    """A rule file cannot be read: names the file, line and column, and what was expected."""

    def __init__(self, file, line, column, message):
        self.file, self.line, self.column, self.message = str(file), line, column, message
        super().__init__(f"{self.file}:{line}:{column}: {message}")


@dataclass
class Origin:
    file: str
    line: int
    expanded: bool = False  # a macro changed this line: columns are those after expansion


@dataclass
class Source:
    """Preprocessed text, one Origin per line, and every file read (for change detection)."""

    text: str
    origins: list
    files: list = field(default_factory=list)

    def origin(self, line):
        if 1 <= line <= len(self.origins):
            return self.origins[line - 1]
        last = self.origins[-1] if self.origins else Origin("<rules>", 1)
        return Origin(last.file, last.line + 1)


@dataclass
class Macro:
    body: str
    params: tuple | None = None  # None: object-like


def strip_comments(text, file):
    """Blank out // and /* */ comments (keeping newlines and columns); strings are kept."""
    out, i, n = [], 0, len(text)
    line = 1
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] not in '"\n':
                j += 1
            out.append(text[i : j + 1] if j < n and text[j] == '"' else text[i:j])
            i = j + 1 if j < n and text[j] == '"' else j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                column = i - text.rfind("\n", 0, i)
                raise OcaSyntaxError(file, line, column, "unterminated comment: '/*' without '*/'")
            chunk = text[i : j + 2]
            out.append(re.sub(r"[^\n]", " ", chunk))
            line += chunk.count("\n")
            i = j + 2
        else:
            if c == "\n":
                line += 1
            out.append(c)
            i += 1
    return "".join(out)


class Preprocessor:
    def __init__(self, include_dirs=()):
        self.include_dirs = [Path(d) for d in include_dirs if d]
        self.macros = {}
        self.lines, self.origins, self.files = [], [], []

    # --- files --------------------------------------------------------------------------

    def run(self, text, source):
        path = Path(str(source))
        stack = (str(path.resolve()),) if path.is_file() else ()
        self._file(text, str(source), directory=None, stack=stack)
        return Source("\n".join(self.lines), self.origins, self.files)

    def _file(self, text, name, directory, stack):
        self.files.append(name)
        # Windows (CRLF) and old Mac (CR) line ends, and a byte-order mark, as gcc reads them.
        text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        raw_lines = strip_comments(text, name).split("\n")
        conditions = []  # [active, seen_true_branch, line, seen_else]
        index = 0
        while index < len(raw_lines):
            number = index + 1
            line = raw_lines[index]
            index += 1
            directive = DIRECTIVE.match(line)
            if directive:
                while line.rstrip().endswith("\\") and index < len(raw_lines):
                    line = line.rstrip()[:-1] + " " + raw_lines[index]
                    index += 1
                    self._emit("", name, number)
                directive = DIRECTIVE.match(line)
                self._emit("", name, number)
                word, rest = directive.group(1), directive.group(2).strip()
                active = all(c[0] for c in conditions)
                self._directive(word, rest, name, number, directory, stack, conditions, active)
                continue
            if all(c[0] for c in conditions):
                expanded = self._expand(line, name, number)
                self._emit(expanded, name, number, expanded != line)
            else:
                self._emit("", name, number)
        if conditions:
            raise OcaSyntaxError(name, conditions[-1][2], 1, "#if/#ifdef without #endif")

    def _emit(self, text, file, line, expanded=False):
        self.lines.append(text)
        self.origins.append(Origin(file, line, expanded))

    def _directive(self, word, rest, name, number, directory, stack, conditions, active):
        def error(message):
            raise OcaSyntaxError(name, number, 1, message)

        if word in ("ifdef", "ifndef"):
            macro = IDENTIFIER.match(rest)
            if not macro:
                error(f"#{word} needs a macro name")
            truth = (macro.group(0) in self.macros) == (word == "ifdef")
            conditions.append([active and truth, truth, number, False])
        elif word == "if":
            # As in gcc, the expression of a group that is skipped anyway is not evaluated.
            truth = self._if_value(rest, name, number) if active else False
            conditions.append([active and truth, truth, number, False])
        elif word == "elif":
            if not conditions or conditions[-1][3]:
                error("#elif without #if" if not conditions else "#elif after #else")
            outer = all(c[0] for c in conditions[:-1])
            truth = outer and not conditions[-1][1] and self._if_value(rest, name, number)
            conditions[-1][0] = truth
            conditions[-1][1] = conditions[-1][1] or truth
        elif word == "else":
            if not conditions:
                error("#else without #if")
            if conditions[-1][3]:
                error(f"second #else for the #if of line {conditions[-1][2]}")
            outer = all(c[0] for c in conditions[:-1])
            conditions[-1][0] = outer and not conditions[-1][1]
            conditions[-1][1] = True
            conditions[-1][3] = True
        elif word == "endif":
            if not conditions:
                error("#endif without #if")
            conditions.pop()
        elif not active:
            return
        elif word == "define":
            self._define(rest, error)
        elif word == "undef":
            self.macros.pop(rest.split()[0] if rest else "", None)
        elif word == "include":
            self._include(rest, name, number, directory, stack, error)
        elif word in ("pragma", ""):
            return
        else:
            error(f"unknown preprocessor directive '#{word}' "
                  "(expected #include, #define, #undef, #ifdef, #ifndef, #if, #elif, #else "
                  "or #endif)")

    def _if_value(self, rest, name, number):
        """The truth of a #if/#elif expression, as gcc computes it for integers.

        defined(NAME) / defined NAME, macros expanded, names left over are 0; integers,
        ( ), ! ~ unary - +, * / %, + -, < <= > >=, == !=, &&, ||.
        """
        text = DEFINED.sub(lambda m: "1" if (m.group(1) or m.group(2)) in self.macros else "0",
                           rest)
        text = self._expand(text, name, number).strip()
        tokens = IF_TOKEN.findall(text)
        if not text or "".join(tokens) != re.sub(r"\s+", "", text):
            raise OcaSyntaxError(name, number, 1, f"#if: cannot read the expression '{rest}' "
                                 "(integers, defined(NAME), ! && || == != < > <= >= + - * / ( ))")
        try:
            return _IfExpression(tokens).value() != 0
        except (ValueError, ZeroDivisionError) as exc:
            raise OcaSyntaxError(name, number, 1, f"#if: {exc} in '{rest}'") from None

    def _define(self, rest, error):
        match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(\(([^)]*)\))?\s*(.*)$", rest, re.S)
        if not match:
            error("#define needs a macro name")
        params = None
        if match.group(2) is not None:
            params = tuple(p.strip() for p in match.group(3).split(",") if p.strip())
            for p in params:
                if not IDENTIFIER.fullmatch(p):
                    error(f"#define {match.group(1)}: '{p}' is not a parameter name")
        self.macros[match.group(1)] = Macro(match.group(4).strip(), params)

    def _include(self, rest, name, number, directory, stack, error):
        match = re.fullmatch(r'"([^"]+)"|<([^>]+)>', rest)
        if not match:
            error(f'#include needs "file" or <file>, got \'{rest}\'')
        target = match.group(1) or match.group(2)
        here = Path(name).parent if Path(name).is_file() else directory
        candidates = ([here] if here else []) + self.include_dirs
        for folder in candidates:
            path = (folder / target)
            if path.is_file():
                break
        else:
            searched = ", ".join(str(d) for d in candidates) or "no include directory"
            error(f"#include: cannot find '{target}' (searched {searched})")
        key = str(path.resolve())
        if key in stack:
            error(f"#include of '{target}' includes itself (cycle)")
        if len(stack) >= MAX_INCLUDE_DEPTH:
            error(f"#include nested deeper than {MAX_INCLUDE_DEPTH} files")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            error(f"#include: cannot read '{path}': {exc}")
        self._file(text, str(path), path.parent, stack + (key,))

    # --- macro expansion -----------------------------------------------------------------

    def _expand(self, text, name, number, active=frozenset(), budget=None):
        """Replace macro names outside strings; a macro is not expanded inside itself."""
        if not self.macros:
            return text
        budget = budget if budget is not None else [MAX_EXPANSIONS]
        out, i, n = [], 0, len(text)
        while i < n:
            c = text[i]
            if c == '"':
                j = text.find('"', i + 1)
                j = n - 1 if j < 0 else j
                out.append(text[i : j + 1])
                i = j + 1
                continue
            match = IDENTIFIER.match(text, i)
            if not match or (i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")):
                out.append(c)
                i += 1
                continue
            word = match.group(0)
            i = match.end()
            macro = self.macros.get(word)
            if macro is None or word in active:
                out.append(word)
                continue
            budget[0] -= 1
            if budget[0] < 0:
                raise OcaSyntaxError(name, number, 1, "macro expansion does not end")
            if macro.params is None:
                out.append(self._expand(macro.body, name, number, active | {word}, budget))
                continue
            args, end = self._arguments(text, i)
            if args is None:  # a function-like macro name without ( is left alone
                out.append(word)
                continue
            if len(args) != len(macro.params) and not (macro.params == () and args == [""]):
                raise OcaSyntaxError(name, number, match.start() + 1,
                                     f"macro {word} takes {len(macro.params)} argument(s), "
                                     f"got {len(args)}")
            values = {p: self._expand(a.strip(), name, number, active, budget)
                      for p, a in zip(macro.params, args)}
            body = IDENTIFIER.sub(lambda m: values.get(m.group(0), m.group(0)), macro.body)
            out.append(self._expand(body, name, number, active | {word}, budget))
            i = end
        return "".join(out)

    @staticmethod
    def _arguments(text, i):
        j = i
        while j < len(text) and text[j] in " \t":
            j += 1
        if j >= len(text) or text[j] != "(":
            return None, i
        depth, args, current, j = 0, [], [], j + 1
        while j < len(text):
            c = text[j]
            if c == '"':
                k = text.find('"', j + 1)
                k = len(text) - 1 if k < 0 else k
                current.append(text[j : k + 1])
                j = k + 1
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    args.append("".join(current))
                    return args, j + 1
                depth -= 1
            elif c == "," and depth == 0:
                args.append("".join(current))
                current = []
                j += 1
                continue
            current.append(c)
            j += 1
        return None, i


class _IfExpression:
    """A recursive-descent reader of a #if expression's tokens (C precedence)."""

    BINARY = [("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%")]

    def __init__(self, tokens):
        self.tokens, self.i = tokens, 0

    def value(self):
        result = self._binary(0)
        if self.i != len(self.tokens):
            raise ValueError(f"unexpected '{self.tokens[self.i]}'")
        return result

    def _peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _binary(self, level):
        if level == len(self.BINARY):
            return self._unary()
        left = self._binary(level + 1)
        while self._peek() in self.BINARY[level]:
            op = self.tokens[self.i]
            self.i += 1
            right = self._binary(level + 1)
            if op in ("/", "%") and right == 0:
                raise ZeroDivisionError("division by zero")
            left = {
                "||": lambda: int(bool(left) or bool(right)),
                "&&": lambda: int(bool(left) and bool(right)),
                "==": lambda: int(left == right), "!=": lambda: int(left != right),
                "<": lambda: int(left < right), "<=": lambda: int(left <= right),
                ">": lambda: int(left > right), ">=": lambda: int(left >= right),
                "+": lambda: left + right, "-": lambda: left - right,
                "*": lambda: left * right,
                "/": lambda: int(left / right), "%": lambda: left - int(left / right) * right,
            }[op]()
        return left

    def _unary(self):
        token = self._peek()
        if token is None:
            raise ValueError("the expression ends too early")
        self.i += 1
        if token in ("!", "~", "-", "+"):
            value = self._unary()
            return {"!": int(not value), "~": ~value, "-": -value, "+": value}[token]
        if token == "(":
            value = self._binary(0)
            if self._peek() != ")":
                raise ValueError("missing ')'")
            self.i += 1
            return value
        if token[0].isdigit():
            return int(token.rstrip("uUlL"))
        if IDENTIFIER.fullmatch(token):
            return 0  # a name that is no macro is 0, as in C
        raise ValueError(f"unexpected '{token}'")


def preprocess(text, source="<rules>", include_dirs=()):
    return Preprocessor(include_dirs).run(text, source)
