"""A page as a small element tree, built with the standard library's html.parser:
enough to ask what a screen reader finds on it (labels, headings, landmarks)."""

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class Element:
    def __init__(self, tag: str, attrs: dict, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def get(self, name: str, default=None):
        return self.attrs.get(name, default)

    def iter(self):
        """This element and every element inside it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, *tags: str, **attrs) -> list["Element"]:
        """Elements with one of `tags` (any tag if none) and these attribute values;
        write aria_label for aria-label, for_ for for, True for "present with any value"."""
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [
            e
            for e in self.iter()
            if (not tags or e.tag in tags)
            and all(e.get(k) is not None if v is True else e.get(k) == v for k, v in wanted.items())
        ]

    def find(self, *tags: str, **attrs) -> "Element | None":
        found = self.find_all(*tags, **attrs)
        return found[0] if found else None

    def by_id(self, element_id: str) -> "Element | None":
        return self.find(id=element_id)

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    @property
    def text(self) -> str:
        """All the text inside, visually hidden or not, with whitespace collapsed."""
        return re.sub(r"\s+", " ", self._all_text()).strip()

    def _all_text(self) -> str:
        return "".join(c._all_text() if isinstance(c, Element) else c for c in self.children)

    def __repr__(self):
        return f"<{self.tag} {self.attrs}>"


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Element("#document", {})

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v if v is not None else "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.current = self.current.parent

    def handle_endtag(self, tag):
        # Close up to the matching open element; a stray end tag closes nothing.
        open_tags = [self.current, *self.current.ancestors()]
        for element in open_tags:
            if element.tag == tag:
                self.current = element.parent
                return

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str) -> Element:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root
