"""static/js/markdown.js in Chromium (marked + DOMPurify + highlight.js): tables, highlighted code with a label and a
Copy button, safe links only, hostile markup inert, a throttled live view for streams."""

from __future__ import annotations

TRICKY = "\n".join([
    "Read [the docs](https://example.com/a_b_c_/x?q=*y*) and _this_ **now**.",
    "Run `snake_case_name *x*` or [**bold link**](https://example.com/__init__) then [`cmd`](https://e.test/run_it_).",
    "Mail [us](mailto:team@example.com), not [there](/relative) or [data](data:text/html,hi).",
    "<script>window.__ran = 1</script> [click](javascript:window.__ran=1) <img src=x onerror=\"window.__ran=1\">",
    "![pic](javascript:window.__ran=1) <a href=\"javascript:window.__ran=1\">raw</a> <b onclick=\"x()\">b</b>",
    "smuggled \u00000\u0000 piece",
])

RICH = """| Model | Free |
|:------|-----:|
| llama | yes |
| gpt | no |

```python
def add(a, b):
    return a + b  # sum
```

- one
- two

1. first
2. second
"""


def _render(page, source: str):
    page.evaluate("""(source) => {
        window.__ran = 0;
        const box = document.createElement("div");
        box.id = "md-box";
        document.body.appendChild(box);
        window.Markdown.renderInto(box, source);
    }""", source)
    return page.locator("#md-box")


def _open(new_page):
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/login/")
    page.wait_for_function("() => window.Markdown && window.marked && window.DOMPurify && window.hljs")
    return page


def test_tables_lists_and_highlighted_code_with_a_label_and_a_copy_button(new_page):
    page = _open(new_page)
    box = _render(page, RICH)

    assert box.locator("table thead th").all_text_contents() == ["Model", "Free"]
    assert box.locator("table tbody tr").count() == 2
    assert box.locator("table td").nth(1).get_attribute("class") == "align-right"
    assert box.locator("ul > li").all_inner_texts() == ["one", "two"]
    assert box.locator("ol > li").all_inner_texts() == ["first", "second"]
    block = box.locator(".code-block")
    assert block.locator(".code-lang").inner_text() == "python"
    code = block.locator("pre code.hljs.language-python")
    assert code.locator(".hljs-keyword").first.inner_text() == "def"
    assert code.locator(".hljs-title.function_").inner_text() == "add"
    assert code.locator(".hljs-comment").inner_text() == "# sum"
    assert code.inner_text() == "def add(a, b):\n    return a + b  # sum"
    block.get_by_role("button", name="Copy code").click()
    page.wait_for_function("() => document.querySelector('#md-box .code-copy').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == "def add(a, b):\n    return a + b  # sum"
    assert page.problems == []


def test_links_keep_only_safe_targets_and_hostile_markup_stays_inert_text(new_page):
    page = _open(new_page)
    box = _render(page, TRICKY)

    hrefs = box.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["https://example.com/a_b_c_/x?q=*y*", "https://example.com/__init__", "https://e.test/run_it_",
                     "mailto:team@example.com"]
    assert all(a == "noopener noreferrer nofollow" for a in box.locator("a").evaluate_all(
        "links => links.map(a => a.rel)"))
    assert box.locator("a").first.inner_html() == "the docs"
    assert box.locator("a strong").inner_text() == "bold link"
    assert box.locator("a code").inner_text() == "cmd"
    assert box.locator("em").all_inner_texts() == ["this"]
    assert box.locator("p > code").inner_text() == "snake_case_name *x*"

    # what looks like markup is text: no element, no handler, no script run, no unsafe link
    assert box.locator("script, img, b, [onerror], [onclick]").count() == 0
    text = box.inner_text()
    for shown in ("<script>window.__ran = 1</script>", "[click](javascript:window.__ran=1)",
                  '<img src=x onerror="window.__ran=1">', "[there](/relative)", "[data](data:text/html,hi)",
                  "![pic](javascript:window.__ran=1)", '<a href="javascript:window.__ran=1">raw</a>'):
        assert shown in text
    assert "undefined" not in text and "smuggled \ufffd0\ufffd piece" in text
    assert page.evaluate("window.__ran") == 0
    assert page.problems == []


def test_a_stream_view_renders_as_the_text_grows_and_settles_on_the_whole_text(new_page):
    page = _open(new_page)
    paints = page.evaluate("""async () => {
        const box = document.createElement("div");
        document.body.appendChild(box);
        const view = window.Markdown.stream(box);
        let text = "", seen = [];
        for (const piece of ["| a | b |\\n", "|---|---|\\n", "| 1 | 2 |\\n", "\\n```js\\nlet x", " = 1;\\n```\\n"]) {
            text += piece;
            view.update(text);
            await new Promise((done) => setTimeout(done, 120));
            seen.push(box.querySelector("table") !== null);
        }
        view.finish(text);
        return {seen, table: box.querySelectorAll("td").length, code: box.querySelector("code.language-js").textContent};
    }""")
    assert paints["seen"][-1] is True and paints["seen"][0] is False  # live while streaming
    assert paints["table"] == 2 and paints["code"] == "let x = 1;"
    assert page.problems == []
