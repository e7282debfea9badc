"""static/js/markdown.js in Chromium: inline rules touch text only, never the tags they made; markup stays inert."""

from __future__ import annotations

TRICKY = "\n".join([
    "Read [the docs](https://example.com/a_b_c_/x?q=*y*) and _this_ **now**.",
    "Run `snake_case_name *x*` or [**bold link**](https://example.com/__init__) then [`cmd`](https://e.test/run_it_).",
    "2*3*4 and snake_case_name stay as written.",
    "<script>window.__ran = 1</script> [click](javascript:window.__ran=1) <img src=x onerror=\"window.__ran=1\">",
    "smuggled \u00000\u0000 piece",
])


def _render(page, source: str):
    page.evaluate("""(source) => {
        window.__ran = 0;
        const box = document.createElement("div");
        box.id = "md-box";
        document.body.appendChild(box);
        window.Markdown.renderInto(box, source);
    }""", source)
    return page.locator("#md-box")


def test_markdown_applies_inline_rules_to_text_only_and_keeps_markup_inert(new_page):
    page = new_page()
    page.goto("/login/")
    page.wait_for_function("() => window.Markdown !== undefined")
    box = _render(page, TRICKY)

    hrefs = box.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["https://example.com/a_b_c_/x?q=*y*", "https://example.com/__init__", "https://e.test/run_it_"]
    assert box.locator("a").first.inner_html() == "the docs"  # no <em> made from the URL's underscores or stars
    assert box.locator("a strong").inner_text() == "bold link"
    assert box.locator("a code").inner_text() == "cmd"
    assert box.locator("em").all_inner_texts() == ["this"]
    assert box.locator("p > strong").all_inner_texts() == ["now"]
    assert box.locator("p > code").inner_text() == "snake_case_name *x*"
    assert "2*3*4 and snake_case_name stay as written." in box.inner_text()

    # what looks like markup is text: no element, no script run, no javascript: link
    assert box.locator("script, img, [onerror]").count() == 0
    assert "<script>window.__ran = 1</script>" in box.inner_text()
    assert "[click](javascript:window.__ran=1)" in box.inner_text()
    assert all(not href.startswith("javascript:") for href in hrefs)
    assert "undefined" not in box.inner_text() and "smuggled \ufffd0\ufffd piece" in box.inner_text()
    assert page.evaluate("window.__ran") == 0
    assert page.problems == []
