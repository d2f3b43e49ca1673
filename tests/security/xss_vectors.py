"""Script-injection vectors for the XSS tests, written for Broadsheet's own contexts.

Broadsheet puts untrusted text into: HTML text (titles, bylines, captions), attribute values
(alt, meta content, JSON-LD), URLs (image src, links, original_url) and Markdown. The vectors
below aim at each of those: tag and attribute breakouts, every event handler we could list,
`javascript:` hidden by case, entities, control characters and percent-encoding, SVG/MathML
namespaces, srcset, CSS, parser-differential ("mutation") markup, broken tags, closers for the
JSON-LD block, and template syntax (content must never be rendered as a template).

Every vector tries to call alert/prompt/confirm, so the browser test can trap the attempt.
`MARKUP` holds vectors meant for text contexts, `URLS` vectors meant for URL contexts;
`VECTORS` is both, de-duplicated. The tests put every vector into every text field and every
URL vector into every URL field.
"""

from __future__ import annotations

CALLS = ("alert(1)", "prompt(1)", "confirm(1)", "alert`1`", "top['al'+'ert'](1)", "(alert)(1)")

# --- handwritten markup vectors ---------------------------------------------------------------
_HANDWRITTEN = [
    "<script>alert(1)</script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "<script src=//127.0.0.2/x.js></script>",
    "<script>/*</script><script>*/alert(1)</script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>alert(1)//<</script>",
    "<script\x00>alert(1)</script>",
    "<script\t>alert(1)</script >",
    "<script/x>alert(1)</script>",
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "</style><script>alert(1)</script>",
    "</noscript><script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    "</SCRIPT ><script>alert(1)</script>",
    "</script\x00><script>alert(1)</script>",
    "</script/foo><script>alert(1)</script>",
    "<!--<script>alert(1)</script>-->",
    "<!--<script>",
    "--><script>alert(1)</script>",
    "<!--><img src=x onerror=alert(1)>-->",
    "<!---><img src=x onerror=alert(1)>-->",
    "<!-- --!><img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "]]><script>alert(1)</script>",
    "<?xml version='1.0'?><script>alert(1)</script>",
    "<!DOCTYPE html><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=alert(1)//",
    "<img src=x onerror=alert(1) ",
    "<img/src=x/onerror=alert(1)>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "<img\nsrc=x\nonerror=alert(1)>",
    "<img src=`x` onerror=alert(1)>",
    '<img src="x" onerror="alert(1)"',
    "<img src='x' onerror='alert(1)'>",
    '<img src=x onerror="&#97;&#108;&#101;&#114;&#116;&#40;&#49;&#41;">',
    '<img src=x onerror="&#x61;lert(1)">',
    "<img src=x onerror=\\u0061lert(1)>",
    '<img """><script>alert(1)</script>">',
    "<img srcset=x onerror=alert(1)>",
    "<img srcset='javascript:alert(1) 1x'>",
    "<img src=x srcset='x 1x, javascript:alert(1) 2x'>",
    "<picture><source srcset='javascript:alert(1)'><img src=x></picture>",
    "<picture><source srcset=x onerror=alert(1)><img></picture>",
    "<image src=x onerror=alert(1)>",
    "<input type=image src=x onerror=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<input onblur=alert(1) autofocus><input autofocus>",
    "<select autofocus onfocus=alert(1)>",
    "<textarea autofocus onfocus=alert(1)>",
    "<keygen autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<details/open/ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<video src=x onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<video poster=javascript:alert(1)//></video>",
    "<body onload=alert(1)>",
    "<body onpageshow=alert(1)>",
    "<body onhashchange=alert(1)>",
    "<frameset onload=alert(1)>",
    "<marquee onstart=alert(1)>x</marquee>",
    "<object data=javascript:alert(1)>",
    "<object data='data:text/html,<script>alert(1)</script>'></object>",
    "<embed src=javascript:alert(1)>",
    "<embed src='data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<iframe srcdoc='&lt;img src=x onerror=alert(1)&gt;'></iframe>",
    "<iframe onload=alert(1)></iframe>",
    "<frame src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><input type=submit></form>",
    "<form><button formaction=javascript:alert(1)>x</button></form>",
    "<form id=f></form><button form=f formaction=javascript:alert(1)>x</button>",
    "<isindex action=javascript:alert(1) type=image>",
    "<a href=javascript:alert(1)>x</a>",
    "<a href='jav&#x09;ascript:alert(1)'>x</a>",
    '<a href="javascript&colon;alert(1)">x</a>',
    "<a href=# onclick=alert(1)>x</a>",
    "<a href=x ping=javascript:alert(1)>x</a>",
    "<a id=x tabindex=1 onfocus=alert(1)></a>",
    "<a onmouseover=alert(1)>x</a>",
    "<area href=javascript:alert(1)>",
    "<base href=javascript:alert(1)//>",
    "<base href=//127.0.0.2/>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<meta http-equiv=refresh content='0; url=data:text/html,<script>alert(1)</script>'>",
    "<meta http-equiv=Content-Security-Policy content=\"script-src 'unsafe-inline'\">",
    "<meta charset=utf-7>+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
    "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
    "<link rel=import href=data:text/html,<script>alert(1)</script>>",
    "<link rel=stylesheet href=javascript:alert(1)>",
    "<link rel=preload href=x onload=alert(1)>",
    "<style>@import 'javascript:alert(1)';</style>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<style>*{x:expression(alert(1))}</style>",
    "<style onload=alert(1)></style>",
    "<div style=\"background:url('javascript:alert(1)')\">x</div>",
    "<div style=x:expression(alert(1))>x</div>",
    '<div style="behavior:url(x.htc)">x</div>',
    '<div style="-moz-binding:url(//127.0.0.2/x.xml#x)">x</div>',
    '<div style="width:expression\\28 alert(1)\\29">x</div>',
    '<p style="animation-name:x" onanimationstart=alert(1)>x</p>',
    "<style>@keyframes x{}</style><p style=animation-name:x onanimationstart=alert(1)>x</p>",
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><script href=data:,alert(1) />",
    "<svg><script xlink:href=data:,alert(1)></script>",
    "<svg><a xlink:href=javascript:alert(1)><text x=20 y=20>x</text></a></svg>",
    "<svg><a href=javascript:alert(1)><rect width=100 height=100 /></a></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<svg><set onbegin=alert(1) attributeName=x to=1>",
    "<svg><a><animate attributeName=href values=javascript:alert(1) /><text x=20 y=20>x</text></a>",
    "<svg><set attributeName=href to=javascript:alert(1) /></svg>",
    "<svg><use href=data:image/svg+xml,&lt;svg id='x' xmlns='http://www.w3.org/2000/svg'&gt;"
    "&lt;image href='1' onerror='alert(1)' /&gt;&lt;/svg&gt;#x />",
    "<svg><image href=x onerror=alert(1) /></svg>",
    "<svg><foreignObject><iframe srcdoc='<script>alert(1)</script>'></iframe></foreignObject></svg>",
    "<svg><style>&lt;img src=x onerror=alert(1)&gt;</style></svg>",
    '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
    '<svg><title><a id="</title><img src=x onerror=alert(1)>"></title></svg>',
    "<svg><desc><img src=x onerror=alert(1)></desc></svg>",
    "<svg><handler xmlns:ev=http://www.w3.org/2001/xml-events ev:event=load>alert(1)</handler></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math><mtext><h1><a><h6></a></h6><mglyph><svg><mtext><style><a title="</style><img src onerror=alert(1)>">',
    "<math><maction actiontype=statusline xlink:href=javascript:alert(1)>x</maction></math>",
    "<math href=javascript:alert(1)>x</math>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "<math><annotation-xml encoding=text/html><img src=x onerror=alert(1)></annotation-xml></math>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<noembed><img title="</noembed><img src onerror=alert(1)>"></noembed>',
    '<noframes><img title="</noframes><img src onerror=alert(1)>"></noframes>',
    "<template><img src=x onerror=alert(1)></template>",
    '<xmp><img title="</xmp><img src=x onerror=alert(1)>">',
    "<listing>&lt;img src=x onerror=alert(1)&gt;</listing>",
    "<plaintext><img src=x onerror=alert(1)>",
    '<textarea><img title="</textarea><img src=x onerror=alert(1)>">',
    '<title><img title="</title><img src=x onerror=alert(1)>">',
    "<table><td background=javascript:alert(1)>",
    "<table><tr><td><img src=x onerror=alert(1)></td></tr></table>",
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    '<a href="\x0bjavascript:alert(1)">x</a>',
    '<div id="x"><a href=# id=x>x</a></div><script>alert(x)</script>',
    "<dialog open onclose=alert(1)><form method=dialog><button>x</button></form></dialog>",
    "<slot onslotchange=alert(1)></slot>",
    "<portal src=javascript:alert(1)></portal>",
    "<applet code=x onerror=alert(1)></applet>",
    "<bgsound src=javascript:alert(1)>",
    "<layer src=javascript:alert(1)></layer>",
    "<xss id=x tabindex=1 onfocusin=alert(1)></xss>",
    "<x contenteditable onblur=alert(1)>x",
    "<x oncopy=alert(1)>x</x>",
    "<x onpointerenter=alert(1)>x</x>",
    "<custom-tag onbeforescriptexecute=alert(1)>",
    "<svg><discard onbegin=alert(1)>",
    "<img src=x onerror=alert(1) onerror=alert(2)>",
    "<img src=x ONERROR=alert(1)>",
    "<img src=x OnErRoR=alert(1)>",
    "<img src=x on\x00error=alert(1)>",
    "<img src=x onerror\x0c=alert(1)>",
    "<img src=x onerror =alert(1)>",
    "<img src=x onerror= alert(1)>",
    "<img src=x onerror=alert(1)\x00>",
    "<img src='x'onerror='alert(1)'>",
    '<img src="x"/onerror="alert(1)">',
    '<img src=x "onerror=alert(1)">',
    "<img src=x onerror=alert&#40;1&#41;>",
    "<img src=x onerror=alert&lpar;1&rpar;>",
    "<img src=x onerror=eval(atob('YWxlcnQoMSk='))>",
    "<img src=x onerror=window['ale'+'rt'](1)>",
    "<img src=x onerror=top[/al/.source+/ert/.source](1)>",
    "<img src=x onerror=setTimeout`alert\\x281\\x29`>",
    "<img src=x onerror=import('data:text/javascript,alert(1)')>",
    "<img src=x onerror=location='javascript:alert(1)'>",
    "<img src=x onerror=document.write('<script>alert(1)</script>')>",
    "<img src=x:x onerror=Function('alert(1)')()>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "&#x3C;img src=x onerror=alert(1)&#x3E;",
    "\\x3cscript\\x3ealert(1)\\x3c/script\\x3e",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "%253Cscript%253Ealert(1)%253C/script%253E",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "\u00bcscript\u00bealert(1)\u00bc/script\u00be",
    "<\u0000script>alert(1)</script>",
    "<scri\u200bpt>alert(1)</script>",
    "<script>alert(1)</script\u2028>",
    "\u2028\u2029<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>\ufeff",
    "\U0001f600<img src=x onerror=alert(1)>",
    "x\u202e>tpircs/<)1(trela>tpircs<",
    '" onmouseover="alert(1)',
    "' onmouseover='alert(1)",
    '" autofocus onfocus="alert(1)',
    "' autofocus onfocus='alert(1)",
    '"autofocus/onfocus="alert(1)',
    "` onmouseover=alert(1) x=`",
    '"><img src=x onerror=alert(1)>',
    '"/><svg onload=alert(1)>',
    "'\"><img src=x onerror=alert(1)>",
    '" style="background:url(javascript:alert(1))',
    '" href="javascript:alert(1)',
    '" src="javascript:alert(1)',
    '"; alert(1); var x="',
    "'; alert(1); var x='",
    '\\"; alert(1); //',
    '"}]</script><script>alert(1)</script>',
    '", "@context": "javascript:alert(1)", "x": "',
    "0;url=javascript:alert(1)",
    "{{7*7}}",
    "{{ 7*7 }}<img src=x onerror=alert(1)>",
    "{% raw %}{{ 7*7 }}{% endraw %}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ config }}{{ self }}{{ url('x') }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{% for x in range(3) %}{{ x }}{% endfor %}",
    "{# comment #}<script>alert(1)</script>",
    "${7*7}<script>alert(1)</script>",
    "#{7*7}",
    "<%= 7*7 %>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](javas&#99;ript:alert(1))",
    "[x](javas%63ript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x]( javascript:alert(1) )",
    "[x](java\\script:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    '[x](javascript:alert(1) "title")',
    '[x](x "\\" onmouseover=alert(1) x=\\"")',
    "[x](x 'a\" onmouseover=\"alert(1)')",
    "![x](javascript:alert(1))",
    '![x" onerror="alert(1)](x)',
    '![x](x "\\" onerror=alert(1) x=\\"")',
    "![x](data:image/svg+xml,<svg onload=alert(1)>)",
    "<javascript:alert(1)>",
    "<JavaScript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "[x][r]\n\n[r]: javascript:alert(1)",
    '[r]\n\n[r]: <javascript:alert(1)> "t"',
    "[x]: javascript:alert(1)",
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    "    <script>alert(1)</script>",
    "> <script>alert(1)</script>",
    "- <img src=x onerror=alert(1)>",
    "| <script>alert(1)</script> |\n|---|\n| x |",
    '| a |\n|:-" onmouseover="alert(1)|\n| b |',
    "<div>\n<script>alert(1)</script>\n</div>",
    "<details>\n\n<summary onclick=alert(1)>x</summary>\n\n</details>",
    "*<img src=x onerror=alert(1)>*",
    "**<svg onload=alert(1)>**",
    "~~<script>alert(1)</script>~~",
    "[<img src=x onerror=alert(1)>](x)",
    "[![x](javascript:alert(1))](javascript:alert(1))",
    '<https://x.example/"onmouseover="alert(1)>',
    '<mailto:x@example.org?"><script>alert(1)</script>>',
    "\\<script\\>alert(1)\\</script\\>",
    "&lt;img src=x onerror=alert(1)&gt;",
    "---\n<script>alert(1)</script>",
    "# <script>alert(1)</script>",
    "Setext <img src=x onerror=alert(1)>\n===",
    "<!-- a --><script>alert(1)</script><!-- b -->",
    "<?php echo 1 ?><script>alert(1)</script>",
    "<![if !IE]><script>alert(1)</script><![endif]>",
    "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->",
    "<div/onmouseover='alert(1)'>x</div>",
    "<div onmouseover\n=\nalert(1)>x</div>",
    '<a href="javascript:void(0)" onclick="alert(1)">x</a>',
    "<button onclick=alert(1)>x</button>",
    "<button popovertarget=p>x</button><div popover id=p onbeforetoggle=alert(1)>x</div>",
    "<div id=x onfocus=alert(1) contenteditable autofocus>x</div>",
    "<svg><animatetransform onbegin=alert(1) attributeName=transform>",
    "<svg><feImage href=javascript:alert(1) />",
    "<svg><a><rect width=99% height=99% /><animate attributeName=href to=javascript:alert(1) /></a></svg>",
    "<svg xmlns=http://www.w3.org/2000/svg><g onload=alert(1)></g></svg>",
    '<img src=x id="&quot;onerror=alert(1)//">',
    '<img alt="" src=x onerror=alert(1)//">',
    '<a title="&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;">x</a>',
    '<a href="x" title="</a><img src=x onerror=alert(1)>">x</a>',
    "<img src=x onerror=alert(1) <!--",
    "<script>alert(1)<!--",
    "<script><!--\nalert(1)//--></script>",
    "<script>/*<!--*/alert(1)/*-->*/</script>",
    "<script type=module>alert(1)</script>",
    "<script type=text/javascript>alert(1)</script>",
    '<script type=application/ld+json>{"x":1}</script><script>alert(1)</script>',
    '<script type="application/ld+json">alert(1)</script>',
    "<script language=vbscript>msgbox(1)</script>",
    "<script charset=utf-7>alert(1)</script>",
    "<script defer src=data:,alert(1)></script>",
    '<script src="javascript:alert(1)"></script>',
    "<script>\u2028alert(1)\u2029</script>",
    "<img src=x onerror=alert(1)>" * 3,
    "<" * 40 + "script>alert(1)</script>",
    "<img src=x onerror=alert(1)" + ">" * 40,
    "</" * 20 + "<script>alert(1)</script>",
    "<div " * 20 + "onclick=alert(1)>x",
    "<a " + "x=1 " * 50 + "onclick=alert(1)>x</a>",
]

# --- every event handler attribute we could list, on tags that fire them ------------------------
EVENT_HANDLERS = (
    "onabort onafterprint onanimationcancel onanimationend onanimationiteration onanimationstart "
    "onauxclick onbeforecopy onbeforecut onbeforeinput onbeforeprint onbeforetoggle onbeforeunload "
    "onbegin onblur oncancel oncanplay oncanplaythrough onchange onclick onclose oncontentvisibilityautostatechange "
    "oncontextmenu oncopy oncuechange oncut ondblclick ondrag ondragend ondragenter ondragleave ondragover "
    "ondragstart ondrop ondurationchange onemptied onend onended onerror onfocus onfocusin onfocusout "
    "onformdata onfullscreenchange onhashchange oninput oninvalid onkeydown onkeypress onkeyup onload "
    "onloadeddata onloadedmetadata onloadstart onmessage onmousedown onmouseenter onmouseleave onmousemove "
    "onmouseout onmouseover onmouseup onmousewheel onoffline ononline onpagehide onpageshow onpaste onpause "
    "onplay onplaying onpointercancel onpointerdown onpointerenter onpointerleave onpointermove onpointerout "
    "onpointerover onpointerrawupdate onpointerup onpopstate onprogress onratechange onrepeat onreset "
    "onresize onscroll onscrollend onsearch onsecuritypolicyviolation onseeked onseeking onselect "
    "onselectionchange onselectstart onshow onstalled onstorage onsubmit onsuspend ontimeupdate ontoggle "
    "ontouchcancel ontouchend ontouchmove ontouchstart ontransitioncancel ontransitionend ontransitionrun "
    "ontransitionstart onunhandledrejection onunload onvolumechange onwaiting onwebkitanimationend "
    "onwebkitanimationiteration onwebkitanimationstart onwebkittransitionend onwheel"
).split()


def _handler_vectors() -> list[str]:
    out = []
    for i, handler in enumerate(EVENT_HANDLERS):
        call = CALLS[i % len(CALLS)]
        # A tag that can fire it, and the same handler smuggled into an attribute context.
        out.append(f"<img src=x {handler}={call}>")
        out.append(f"<svg {handler}={call}><rect tabindex=1 /></svg>")
        out.append(f'" {handler}="{call}" x="')
    return out


# --- javascript: URLs, obfuscated -------------------------------------------------------------
def _entity_encode(text: str, style: int) -> str:
    forms = ("&#{};", "&#x{:x};", "&#0000{};", "&#x0000{:x};", "&#{}")
    return "".join(forms[style].format(ord(c)) for c in text)


def _url_vectors() -> list[str]:
    out: list[str] = []
    payload = "alert(1)"
    schemes = ["javascript:", "JaVaScRiPt:", "JAVASCRIPT:", "javascript :", "vbscript:", "livescript:", "mocha:"]
    for scheme in schemes:
        out.append(scheme + payload)
    # control characters a browser strips (leading) or ignores (tab/newline anywhere)
    for code in (*range(0x00, 0x21), 0x7F):
        out.append(chr(code) + "javascript:" + payload)
    for ch in ("\t", "\n", "\r", "\x00", "\x0b", "\x0c", "\u200b", "\u00ad", "\ufeff", "\u2028"):
        out.append("java" + ch + "script:" + payload)
        out.append("javascript" + ch + ":" + payload)
        out.append("j" + ch + "a" + ch + "v" + ch + "a" + ch + "script:" + payload)
    # HTML entities, numeric and named, whole and partial
    for style in range(5):
        out.append(_entity_encode("javascript:", style) + payload)
        out.append("javas" + _entity_encode("c", style) + "ript:" + payload)
        out.append("javascript" + _entity_encode(":", style) + payload)
    out += [
        "javascript&colon;alert(1)",
        "java&Tab;script:alert(1)",
        "java&NewLine;script:alert(1)",
        "&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)",
        "jav&#x09;ascript:alert(1)",
        "jav&#x0A;ascript:alert(1)",
        "jav&#x0D;ascript:alert(1)",
        "&#14;javascript:alert(1)",
        "javascript&#58alert(1)",
        "javascript&#0000058alert(1)",
        "javascript&amp;colon;alert(1)",
        "&amp;#106;avascript:alert(1)",
    ]
    # percent-encoding (single and double), including of the colon
    out += [
        "javascript%3Aalert(1)",
        "javascript%3aalert(1)",
        "%6Aavascript:alert(1)",
        "%6A%61%76%61%73%63%72%69%70%74%3A%61%6C%65%72%74%28%31%29",
        "java%09script:alert(1)",
        "java%0ascript:alert(1)",
        "%00javascript:alert(1)",
        "%20javascript:alert(1)",
        "javascript%253Aalert(1)",
        "javascript:%61%6c%65%72%74%28%31%29",
        "javascript:alert%281%29",
        "javascript://%0aalert(1)",
        "javascript://x.example/%0d%0aalert(1)",
        "javascript:/*--></title></style></textarea></script><svg/onload='+/\"/+/onmouseover=1/+/[*/[]/+alert(1)//'>",
        "javascript:'<script>alert(1)</script>'",
        "javascript:eval('al'+'ert(1)')",
        "javascript:void(alert(1))",
        "javascript:window.onerror=alert;throw 1",
        "javascript:\\u0061lert(1)",
        "javascript\\:alert(1)",
        "javascript:alert(document.domain)",
    ]
    # look-alikes and unicode tricks (these must not become scripts either)
    out += [
        "\uff4a\uff41\uff56\uff41\uff53\uff43\uff52\uff49\uff50\uff54\uff1aalert(1)",
        "javascript\uff1aalert(1)",
        "java\u017fcript:alert(1)",
        "\u0130avascript:alert(1)",
        "jav\u0430script:alert(1)",
        "\u202ejavascript:alert(1)",
    ]
    # data:, blob:, filesystem: and friends
    out += [
        "data:text/html,<script>alert(1)</script>",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "data:text/html;charset=utf-7,+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
        "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
        "data:application/javascript,alert(1)",
        "data:,alert(1)",
        "DATA:text/html,<script>alert(1)</script>",
        " data:text/html,<script>alert(1)</script>",
        "da\tta:text/html,<script>alert(1)</script>",
        "data&colon;text/html,<script>alert(1)</script>",
        "%64ata:text/html,<script>alert(1)</script>",
        "blob:http://127.0.0.1/x",
        "filesystem:http://127.0.0.1/x",
        "jar:http://127.0.0.1/x!/",
        "view-source:javascript:alert(1)",
        "chrome://settings",
        "file:///etc/passwd",
        "about:blank#<script>alert(1)</script>",
        "x-javascript:alert(1)",
        "ms-its:x",
        "feed:javascript:alert(1)",
    ]
    # breaking out of the attribute or the srcset/CSS that holds the URL
    out += [
        'x" onerror="alert(1)',
        "x' onerror='alert(1)",
        "x onerror=alert(1)",
        'x"><script>alert(1)</script>',
        "x.png 1x, javascript:alert(1) 2x",
        "javascript:alert(1) 1x",
        ", javascript:alert(1) 2x",
        'x.png" srcset="javascript:alert(1)',
        "x.png\nonerror=alert(1)",
        "url(javascript:alert(1))",
        "x');background:url(javascript:alert(1)",
        '#" onclick="alert(1)',
        '/x"><svg onload=alert(1)>',
        '//127.0.0.2/"onload="alert(1)',
        'https://x.example/" onmouseover="alert(1)',
        "https://x.example/<script>alert(1)</script>",
        'https://x.example/?q="><img src=x onerror=alert(1)>',
        "http://x.example/#javascript:alert(1)",
        "https:javascript:alert(1)",
        "http:\\\\x.example\\javascript:alert(1)",
        "//javascript:alert(1)",
        "/\\javascript:alert(1)",
        'mailto:x@example.org"onmouseover="alert(1)',
        "mailto:javascript:alert(1)",
        "../../../../etc/passwd",
        "/../../javascript:alert(1)",
        "?javascript:alert(1)",
        "#javascript:alert(1)",
        "\\\\127.0.0.2\\share",
    ]
    return out


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


URLS: list[str] = _dedupe(_url_vectors())
MARKUP: list[str] = _dedupe(_HANDWRITTEN + _handler_vectors())
VECTORS: list[str] = _dedupe(MARKUP + URLS)
