"""A small Dockerfile reader for the container rules (MCP951-MCP955).

Enough of the format to judge a Dockerfile, and nothing is run: instructions with
their lines and character offsets, continuation lines joined (comment lines inside
them dropped, as BuildKit does), the `# escape=` parser directive, heredoc bodies
(`RUN <<EOF` ... `EOF`) kept apart so they are never read as instructions,
multi-stage builds (`FROM ... AS name`, a stage built on an earlier one), and `ARG`
defaults substituted into `FROM` and `USER` so `FROM python:${TAG}` with
`ARG TAG=latest` is seen as `python:latest`. A value that depends on an argument
with no default stays unknown (None): the rules say nothing rather than guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mcplint.finding import Span
from mcplint.text import TextDocument

# Names a Dockerfile goes by; notes, backups and ignore files beside it are not one.
FILES = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile", "Containerfile.*")
NOT_DOCKERFILE_SUFFIXES = (".dockerignore", ".md", ".txt", ".json", ".yml", ".yaml", ".sh", ".py", ".marks", ".bak",
                           ".orig", ".swp", ".rej")

_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_DIRECTIVE_RE = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(\S*)\s*$")
_KEYWORD_RE = re.compile(r"^\s*([A-Za-z]+)(?=\s|$)\s*")
_HEREDOC_RE = re.compile(r"<<(-?)(?:\"([^\"\s]+)\"|'([^'\s]+)'|([A-Za-z_][\w.-]*))")
_VAR_RE = re.compile(r"\$(?:\{(\w+)(?::?([-+])([^}]*))?\}|(\w+))")


def is_dockerfile(path: str) -> bool:
    from fnmatch import fnmatch

    name = path.rsplit("/", 1)[-1]
    return any(fnmatch(name, p) for p in FILES) and not name.lower().endswith(NOT_DOCKERFILE_SUFFIXES)


class DockerfileRule:
    """What the container rules share: they are text rules that read Dockerfiles.
    Mix in before `Rule`: `class AddFromUrl(dockerfile.DockerfileRule, Rule)`."""

    scope = "text"
    files = FILES
    example_name = "Dockerfile"

    @classmethod
    def wants_file(cls, path: str) -> bool:
        return is_dockerfile(path)


@dataclass(frozen=True)
class Token:
    """A shell-like word of an instruction: its value (quotes removed) and where it
    is in the instruction's logical text."""

    value: str
    start: int
    end: int


@dataclass
class Fragment:
    """Text assembled from parts of the document, with the document offset of each
    character (so a match in it maps back to an exact span)."""

    text: str
    offsets: list[int]

    def doc_range(self, start: int, end: int) -> tuple[int, int]:
        """Document offsets of `text[start:end]` (an empty range stays empty)."""
        if not self.offsets:
            return 0, 0
        start = min(max(start, 0), len(self.offsets) - 1)
        if end <= start:
            return self.offsets[start], self.offsets[start]
        end = min(end, len(self.offsets))
        return self.offsets[start], self.offsets[end - 1] + 1


@dataclass
class Instruction(Fragment):
    keyword: str = ""  # upper case: FROM, RUN, ...
    line: int = 0
    end_line: int = 0
    heredocs: list[Fragment] = field(default_factory=list)  # bodies of `<<EOF` ... `EOF`

    def scripts(self) -> list[Fragment]:
        """The instruction's own text and its heredoc bodies."""
        return [self, *self.heredocs]

    def tokens(self, escape: str = "\\") -> list[Token]:
        return split_words(self.text, escape)

    def flags(self, escape: str = "\\") -> tuple[dict[str, str], list[Token]]:
        """Leading `--name=value` options, and the words after them."""
        words = self.tokens(escape)
        found: dict[str, str] = {}
        while words and words[0].value.startswith("--"):
            name, _, value = words.pop(0).value[2:].partition("=")
            found.setdefault(name.lower(), value)
        return found, words


@dataclass
class Stage:
    index: int
    instruction: Instruction  # the FROM
    image: str  # as written
    resolved: str | None  # ARG defaults substituted; None when an argument has no default
    name: str | None  # `AS name`, lower case
    parent: "Stage | None"  # the earlier stage this one is built on
    body: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    instructions: list[Instruction]
    stages: list[Stage]
    escape: str = "\\"
    global_args: dict[str, str | None] = field(default_factory=dict)

    @property
    def final(self) -> Stage | None:
        return self.stages[-1] if self.stages else None


def read(doc: TextDocument) -> Dockerfile:
    """The parsed Dockerfile of `doc`, computed once for all the rules."""
    if "dockerfile" not in doc.memo:
        doc.memo["dockerfile"] = parse(doc.text)
        doc.statements = [(i.line, i.end_line) for i in doc.memo["dockerfile"].instructions if i.end_line > i.line]
    return doc.memo["dockerfile"]


def parse(text: str) -> Dockerfile:
    lines = [(m.start(), m.group(0).rstrip("\r\n")) for m in _LINE_RE.finditer(text) if m.group(0)]
    escape = "\\"
    number = 0
    # parser directives: only at the very top, before any comment, blank line or instruction
    while number < len(lines):
        match = _DIRECTIVE_RE.match(lines[number][1])
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            escape = match.group(2)
        number += 1
    instructions: list[Instruction] = []
    while number < len(lines):
        offset, content = lines[number]
        stripped = content.strip()
        if not stripped or stripped.startswith("#"):
            number += 1
            continue
        keyword = _KEYWORD_RE.match(content)
        if keyword is None:  # not an instruction (a stray line): skip it
            number += 1
            continue
        first = number
        chars: list[str] = []
        offsets: list[int] = []
        start = keyword.end()
        while True:
            offset, content = lines[number]
            body = content.rstrip()
            continued = body.endswith(escape)
            if continued:
                body = body[:-1]
            for index in range(start, len(body)):
                chars.append(body[index])
                offsets.append(offset + index)
            number += 1
            if not continued:
                break
            # comment lines inside a continued instruction are dropped; blank ones end nothing
            while number < len(lines) and lines[number][1].strip().startswith("#"):
                number += 1
            if number >= len(lines):
                break
            start = 0
        instruction = Instruction("".join(chars), offsets, keyword.group(1).upper(), first + 1, number)
        if instruction.keyword in ("RUN", "COPY", "ADD"):
            number = _read_heredocs(instruction, lines, number)
        instructions.append(instruction)
    return _stages(instructions, escape)


def _read_heredocs(instruction: Instruction, lines: list[tuple[int, str]], number: int) -> int:
    """Consume the bodies of `<<EOF` heredocs that follow the instruction's last line."""
    for match in _HEREDOC_RE.finditer(instruction.text):
        strip_tabs = match.group(1) == "-"
        delimiter = match.group(2) or match.group(3) or match.group(4)
        chars: list[str] = []
        offsets: list[int] = []
        while number < len(lines):
            offset, content = lines[number]
            number += 1
            if (content.lstrip("\t") if strip_tabs else content) == delimiter:
                break
            for index, char in enumerate(content + "\n"):
                chars.append(char)
                offsets.append(offset + min(index, len(content)))
        instruction.heredocs.append(Fragment("".join(chars), offsets))
        instruction.end_line = number
    return number


def split_words(text: str, escape: str = "\\") -> list[Token]:
    """Shell-like words: whitespace separates, quotes group, the escape character
    escapes (not inside single quotes)."""
    words: list[Token] = []
    index = 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        start = index
        value: list[str] = []
        quote = None
        while index < len(text):
            char = text[index]
            if quote is None and char.isspace():
                break
            if char == escape and quote != "'" and index + 1 < len(text):
                value.append(text[index + 1])
                index += 2
                continue
            if char in "'\"" and quote in (None, char):
                quote = None if quote else char
                index += 1
                continue
            value.append(char)
            index += 1
        words.append(Token("".join(value), start, index))
    return words


def substitute(text: str, variables: dict[str, str | None]) -> str | None:
    """`${NAME}`, `$NAME`, `${NAME:-default}` and `${NAME:+other}` with the known
    values; None when a name has no known value (and no `:-` default)."""
    unknown = False

    def one(match: re.Match) -> str:
        nonlocal unknown
        name = match.group(1) or match.group(4)
        value = variables.get(name)
        if match.group(2) == "-":
            return value if value else match.group(3)
        if match.group(2) == "+":
            return match.group(3) if value else ""
        if value is None:
            unknown = True
            return ""
        return value

    result = _VAR_RE.sub(one, text)
    return None if unknown else result


def _arg_pairs(instruction: Instruction, escape: str) -> list[tuple[str, str | None, Token]]:
    out = []
    for word in instruction.tokens(escape):
        name, equals, value = word.value.partition("=")
        if name:
            out.append((name, value if equals else None, word))
    return out


def _stages(instructions: list[Instruction], escape: str) -> Dockerfile:
    dockerfile = Dockerfile(instructions, [], escape)
    by_name: dict[str, Stage] = {}
    current: Stage | None = None
    for instruction in instructions:
        if instruction.keyword == "ARG" and current is None:
            for name, value, _ in _arg_pairs(instruction, escape):
                dockerfile.global_args[name] = value
            continue
        if instruction.keyword == "FROM":
            _, words = instruction.flags(escape)
            image = words[0].value if words else ""
            name = words[2].value.lower() if len(words) >= 3 and words[1].value.lower() == "as" else None
            resolved = substitute(image, dockerfile.global_args)
            parent = by_name.get(resolved.lower()) if resolved else None
            current = Stage(len(dockerfile.stages), instruction, image, resolved, name, parent)
            dockerfile.stages.append(current)
            if name:
                by_name[name] = current
            continue
        if current is not None:
            current.body.append(instruction)
    return dockerfile


def stage_variables(dockerfile: Dockerfile, stage: Stage, until: Instruction | None = None) -> dict[str, str | None]:
    """What `$NAME` means inside a stage, up to `until`: its ARG defaults (a bare
    `ARG NAME` takes the global default) and ENV values."""
    values: dict[str, str | None] = {}
    for instruction in stage.body:
        if instruction is until:
            break
        if instruction.keyword == "ARG":
            for name, value, _ in _arg_pairs(instruction, dockerfile.escape):
                values[name] = value if value is not None else dockerfile.global_args.get(name)
        elif instruction.keyword == "ENV":
            for name, value, _ in env_pairs(instruction, dockerfile.escape):
                values[name] = substitute(value, values)
    return values


def env_pairs(instruction: Instruction, escape: str = "\\") -> list[tuple[str, str, Token]]:
    """`ENV A=1 B="two words"` and the legacy `ENV NAME value with spaces` (one pair);
    also `ARG NAME=value`. The token is the whole `NAME=value` word."""
    words = instruction.tokens(escape)
    if not words:
        return []
    if "=" not in words[0].value and instruction.keyword == "ENV":
        value_start = words[1].start if len(words) > 1 else len(instruction.text)
        rest = instruction.text[value_start:].strip()
        whole = Token(words[0].value + "=" + rest, words[0].start, len(instruction.text.rstrip()))
        return [(words[0].value, rest.strip("\"'"), whole)]
    return [(name, value, word) for name, value, word in _arg_pairs(instruction, escape) if value is not None]


def value_range(instruction: Instruction, word: Token, value: str) -> tuple[int, int]:
    """Where the value of a `NAME=value` word is, in the instruction's text (without quotes)."""
    raw = instruction.text[word.start:word.end]
    at = raw.find(value, raw.find("=") + 1) if value else -1
    if at < 0:
        return word.start, word.end
    return word.start + at, word.start + at + len(value)


def span(doc: TextDocument, fragment: Fragment, start: int | None = None, end: int | None = None) -> Span:
    """The span of `fragment.text[start:end]` (an instruction's first line when not given)."""
    if start is None or not fragment.offsets:
        return doc.line_span(getattr(fragment, "line", 0) or doc.position(fragment.offsets[0])[0])
    begin, finish = fragment.doc_range(start, end if end is not None else len(fragment.text))
    return doc.span(begin, finish)


def image_parts(reference: str) -> tuple[str, str | None, str | None]:
    """`registry:5000/org/app:1.2@sha256:..` -> (`registry:5000/org/app`, `1.2`, `sha256:..`)."""
    name, _, digest = reference.partition("@")
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        tag = last.rsplit(":", 1)[1]
        name = name[: len(name) - len(tag) - 1]
    return name, tag, digest or None
