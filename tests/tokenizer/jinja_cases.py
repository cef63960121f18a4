#!/usr/bin/env python3
"""Writes jinja_cases.json: small templates exercising one Jinja2 feature
each, with the output (or the error) python3-jinja2 gives in Hugging Face's
chat-template environment. tests/tokenizer/jinja_test.cc checks pagoda's
interpreter against them. Rerun after adding a case:
    python3 tests/tokenizer/jinja_cases.py tests/tokenizer/jinja_cases.json
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chat_template_reference import make_env
import datetime
env = make_env(datetime.datetime(2025,1,2,3,4,5))
snips = [
 ("ws_control", "a  {{- 'b' -}}  c\n{%- if true %}\n  d\n{%- endif %}\n", {}),
 ("trim_lstrip", "<ul>\n  {% for x in xs %}\n    <li>{{ x }}</li>\n  {% endfor %}\n</ul>\n", {"xs": [1, 2]}),
 ("plus_modifiers", "a\n  {%+ if true +%}\nb{% endif %}", {}),
 ("comment", "x {# c #}\n  {#- d -#}  y", {}),
 ("loop_vars", "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem|default('-') }}{{ loop.nextitem|default('-') }}{{ loop.cycle('a','b') }};{% endfor %}", {"xs": ["p", "q", "r"]}),
 ("loop_filter_else", "{% for x in xs if x > 1 %}{{ x }}/{{ loop.length }} {% else %}none{% endfor %}|{% for x in [] %}x{% else %}empty{% endfor %}", {"xs": [1, 2, 3]}),
 ("break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
 ("scoping", "{% set x = 1 %}{% for i in [1,2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}{% if true %}{% set x = 9 %}{% endif %}{{ x }}", {}),
 ("namespace", "{% set ns = namespace(n=0, items=[]) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.n }} {{ ns.items }}", {}),
 ("set_block", "{% set s | upper %}  hi {{ name }}  {% endset %}[{{ s }}]{% set t %}x{% endset %}{{ t }}", {"name": "bo"}),
 ("macro", "{% macro m(a, b='B', c=none) -%}{{ a }}{{ b }}{{ c }}{{ varargs }}{{ kwargs }}{%- endmacro %}{{ m(1) }}|{{ m(1, 2, 3, 4) }}|{{ m(1, c=5, z=6) }}", {}),
 ("call_block", "{% macro wrap(t) %}<{{ t }}>{{ caller('X') }}</{{ t }}>{% endmacro %}{% call(v) wrap('b') %}in {{ v }}{% endcall %}", {}),
 ("filter_block", "{% filter upper %}abc {{ 'd' }}{% endfilter %}|{% filter trim %}  x  {% endfilter %}", {}),
 ("arith", "{{ 7/2 }} {{ 7//2 }} {{ -7//2 }} {{ 7%3 }} {{ -7%3 }} {{ 2**10 }} {{ 1.5*2 }} {{ 'ab'*3 }} {{ [1]*2 }} {{ 1e20 }} {{ 1e-5 }} {{ 0.1+0.2 }} {{ 3 - 1.0 }} {{ -2**2 }}", {}),
 ("compare", "{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ 'a' in 'cat' }} {{ 2 not in [1] }} {{ 'k' in {'k': 1} }} {{ [1,2] < [1,3] }} {{ none == none }} {{ true == 1 }}", {}),
 ("strings", "{{ '  x y  '.strip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'xxhixx'.strip('x') }}|{{ 'Hello'.startswith('He') }}{{ 'Hello'.endswith(('x','lo')) }}|{{ 'hello world'.title() }}|{{ 'aXb'.upper() }}{{ 'aXb'.lower() }}|{{ 'a-b-c'.replace('-', '+', 1) }}|{{ 'abc'.find('c') }}|{{ 'déjà'[1:3] }}|{{ 'abc'[::-1] }}|{{ 'abc'[-1] }}|{{ 'a\\tb\\n' }}|{{ \"it's\" }}", {}),
 ("repr", "{{ [1, 'a', none, true, 1.5, {'k': \"v'\"}, (1,), ('x', 2)] }}|{{ {'a': [1, {'b': none}]} }}|{{ 'é\\u200b' }}|{{ ['é\\u200b\\x01'] }}", {}),
 ("filters1", "{{ '  t  '|trim }}|{{ [3,1,2]|sort }}|{{ [3,1,2]|sort(reverse=true)|join(',') }}|{{ ['b','A','a']|unique|list }}|{{ {'b':1,'a':2}|dictsort }}|{{ {'b':1,'a':2}|items|list }}|{{ 'abc'|length }}|{{ [1,2]|first }}{{ [1,2]|last }}|{{ none|default('d') }}|{{ undefined_x|default('u') }}|{{ ''|default('e', true) }}|{{ 'x'|capitalize }}{{ 'hELLO wORLD'|title }}", {}),
 ("filters2", "{{ '3'|int + 1 }}|{{ 'x'|int(7) }}|{{ '2.5'|float }}|{{ 2.567|round(2) }}|{{ 2.5|round }}|{{ 3.5|round }}|{{ -3|abs }}|{{ [1,2,3,4,5]|batch(2)|list }}|{{ 'a b  c'|wordcount }}|{{ 'line1\\nline2\\n\\nline4'|indent(2) }}|{{ 'l1\\nl2'|indent(3, first=true) }}|{{ '<a & b>'|escape }}|{{ [{'n': 'x'}, {'n': 'y'}]|map(attribute='n')|join('+') }}|{{ ['a','b']|map('upper')|list }}", {}),
 ("filters3", "{{ xs|selectattr('t', 'equalto', 'f')|map(attribute='n')|list }}|{{ xs|rejectattr('t')|list|length }}|{{ [1,2,3,4]|select('odd')|list }}|{{ [1,2,3,4]|reject('even')|list }}|{{ xs|selectattr('t', 'defined')|list|length }}|{{ [1,2,3]|sum }}|{{ [1,5,3]|max }}{{ [4,2]|min }}|{{ 'x'|string }}{{ 1|string }}|{{ [1,2]|reverse|list }}|{{ ('%s-%05.1f' % ('a', 2.25)) }}|{{ 'a{}b{x}'.format(1, x=2) }}", {"xs": [{"t": "f", "n": 1}, {"n": 2}, {"t": "g", "n": 3}]}),
 ("tojson", "{{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ d|tojson(ensure_ascii=true) }}|{{ d|tojson(separators=(',', ':')) }}|{{ d|tojson(sort_keys=true) }}|{{ [] |tojson(indent=2) }}{{ {}|tojson }}|{{ 1.0|tojson }}{{ '\\u2028<>&'|tojson }}", {"d": {"z": [1, 2.5, None, True, "é\"\\\n\u0001"], "a": {"k": "🙂"}}}),
 ("tests", "{{ x is defined }}{{ y is undefined }}{{ none is none }}{{ 'a' is string }}{{ 1 is number }}{{ true is number }}{{ 1 is integer }}{{ true is integer }}{{ 1.0 is float }}{{ {} is mapping }}{{ [] is iterable }}{{ 'a' is sequence }}{{ {} is sequence }}{{ true is boolean }}{{ 3 is odd }}{{ 4 is even }}{{ 6 is divisibleby 3 }}{{ 1 is equalto 1 }}{{ 'a' is eq 'a' }}{{ 2 is gt 1 }}{{ 'a' is in 'ab' }}{{ 'abc' is lower }}{{ 'x' is not upper }}{{ [1]|select is iterable }}{{ [1]|select is sequence }}{{ x is true }}{{ x is false }}", {"x": True}),
 ("dict_methods", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{{ d.keys()|list }}|{{ d.values()|list }}|{{ d.get('a') }}{{ d.get('z') }}{{ d.get('z', 0) }}|{{ d['a'] }}{{ d.a }}|{{ d.missing is defined }}|{% for k in d %}{{ k }}{% endfor %}", {"d": {"a": 1, "b": 2}}),
 ("condexpr", "{{ 'y' if x else 'n' }}|{{ 'y' if not x }}|{{ (1 if x else 2) + 1 }}|{{ x and 'a' or 'b' }}|{{ [] or 'empty' }}", {"x": False}),
 ("concat_undefined", "{{ 'a' ~ u ~ 1 ~ none }}|{{ u }}|{{ u|length }}|{% for i in u %}x{% endfor %}|{{ u is iterable }}", {}),
 ("strftime", "{{ strftime_now('%Y-%m-%d %H:%M:%S %d %B %Y') }}", {}),
 ("generation", "a{% generation %}b{{ 1 }}{% endgeneration %}c", {}),
 ("raw", "{% raw %}{{ not parsed }}{% endraw %}x", {}),
 ("markup_add", "{{ 'a<'|safe + '<b>' }}|{{ '<x>' + ('y'|safe) }}|{{ ('a'|safe) ~ '<' }}", {}),
 ("with", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a|default('-') }}", {}),
 ("slices", "{{ xs[1:] }}{{ xs[:-1] }}{{ xs[::2] }}{{ xs[::-1] }}{{ xs[-2:] }}{{ xs[5:] }}{{ xs[1:2:0] if false else '' }}", {"xs": [0, 1, 2, 3]}),
 ("generator_truthy", "{% if [1]|select('odd') %}a{% endif %}{% if []|select('odd') %}b{% endif %}{% if []|select('odd')|list %}c{% endif %}", {}),
 ("err_undefined_attr", "line1\n{{ x.y.z }}", {"x": {}}),
 ("err_raise", "a\n\n{{ raise_exception('bad input') }}", {}),
 ("err_unsafe", "{{ xs.append(1) }}", {"xs": []}),
 ("err_unknown_filter", "{% if x %}{{ x|nope }}{% endif %}ok", {"x": False}),
 ("err_unknown_filter_top", "ok\n{{ x|nope }}", {"x": False}),
 ("err_syntax", "{% for x in %}{% endfor %}", {}),
 ("err_unclosed", "{% if true %}x", {}),
 ("err_type", "{{ 'a' + 1 }}", {}),
 ("err_not_iterable", "{% for x in none %}{% endfor %}", {}),
 ("err_tojson_undefined", "{{ u|tojson }}", {}),
 ("err_len_generator", "{{ [1]|map('string')|length }}", {}),
 ("err_zero_div", "{{ 1/0 }}", {}),
 ("err_unknown_tag", "{% include 'x' %}", {}),
]
out = []
for name, src, ctx in snips:
    try:
        out.append({"name": name, "template": src, "context": ctx, "ok": True, "text": env.from_string(src).render(**ctx)})
    except Exception as e:
        out.append({"name": name, "template": src, "context": ctx, "ok": False, "error": "%s: %s" % (type(e).__name__, e)})
json.dump(out, open(sys.argv[1], "w"), ensure_ascii=False, indent=1)
