"""The chart renderer follows Go template / Sprig semantics for what the chart uses, and fails
loudly on the rest: otherwise the chart tests would check a renderer's invention."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.helmrender import Chart, TemplateError


def render(tmp_path: Path, template: str, values: dict[str, Any] | None = None) -> str:
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "Chart.yaml").write_text("name: demo\nversion: 1.2.3\nappVersion: '4.5'\n")
    (tmp_path / "values.yaml").write_text("{}\n")
    (tmp_path / "templates" / "t.yaml").write_text(template)
    return Chart(tmp_path).render(values or {})["t.yaml"]


def test_trim_markers_eat_whitespace_and_newlines_on_their_side_only(tmp_path: Path) -> None:
    assert render(tmp_path, "a  \n  {{- 1 }}  \n  b") == "a1  \n  b"
    assert render(tmp_path, "a  \n  {{ 1 -}}  \n  b") == "a  \n  1b"


def test_else_if_chains_and_with(tmp_path: Path) -> None:
    template = (
        "{{ if .Values.a }}A{{ else if .Values.b }}B{{ else if .Values.c }}C{{ else }}D{{ end }}"
        "|{{ with .Values.w }}{{ .x }}{{ else }}none{{ end }}"
    )
    assert render(tmp_path, template, {"b": 1, "c": 1}) == "B|none"
    assert render(tmp_path, template, {"c": 1, "w": {"x": "y"}}) == "C|y"
    assert render(tmp_path, template, {"a": [], "w": {}}) == "D|none"  # empty is false


def test_range_over_maps_in_key_order_and_lists_with_else(tmp_path: Path) -> None:
    template = (
        "{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}"
        "{{ range .Values.l }}[{{ . }}]{{ else }}empty{{ end }}"
        "{{ range .Values.l }}{{ $.Release.Name }}{{ end }}"
    )
    assert render(tmp_path, template, {"m": {"b": 2, "a": 1}, "l": ["x"]}) == "a=1;b=2;[x]rp"
    assert render(tmp_path, template, {"m": {}, "l": []}) == "empty"


def test_variables_are_scoped_to_their_block(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="undefined variable"):
        render(tmp_path, "{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}")
    assert render(tmp_path, "{{ $x := 1 }}{{ if true }}{{ $x }}{{ end }}") == "1"


def test_include_with_sprig_functions(tmp_path: Path) -> None:
    template = (
        '{{- define "n" -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 6 | trimSuffix "-" }}'
        "{{- end -}}"
        '{{ include "n" . | quote }} {{ default "d" .Values.missing }} {{ .Values.n | toString }}'
        "{{ toYaml .Values.m | nindent 2 }}"
    )
    assert render(tmp_path, template, {"n": 3, "m": {"k": [1]}}) == '"rp-dem" d 3\n  k:\n  - 1'


def test_and_or_return_the_deciding_operand_lazily(tmp_path: Path) -> None:
    assert render(tmp_path, '{{ or .Values.a "b" }}') == "b"
    assert render(tmp_path, '{{ and "x" .Values.n }}', {"n": 2}) == "2"
    # the `required` is never evaluated: `and` stops at the first false operand
    assert render(tmp_path, '{{ if and .Values.a (required "no" .Values.x) }}y{{ end }}') == ""


def test_required_and_fail_stop_the_render(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="required: give me x"):
        render(tmp_path, '{{ required "give me x" .Values.x }}')
    with pytest.raises(TemplateError, match="fail: no"):
        render(tmp_path, '{{ fail "no" }}')


def test_stricter_than_helm_where_helm_hides_mistakes(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="missing value"):
        render(tmp_path, "{{ .Values.typo }}")
    with pytest.raises(TemplateError, match="nil pointer"):
        render(tmp_path, "{{ .Values.typo.enabled }}")
    with pytest.raises(TemplateError, match="use toYaml"):
        render(tmp_path, "{{ .Values.m }}", {"m": {"a": 1}})
    with pytest.raises(TemplateError, match="not supported"):
        render(tmp_path, "{{ tpl .Values.x . }}", {"x": "y"})
    with pytest.raises(TemplateError, match="not closed"):
        render(tmp_path, "{{ if true }}x")
