"""The page of the student's scikit-learn model in a real browser (Debian's chromium):
one field per feature, named from the header of the CSV it was converted with; filling
them in with a row of the student's test file shows the class name."""

from __future__ import annotations

import csv

import pytest

from .conftest import Compressed, Student
from .walk import onnxruntime_classes, student_rows

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(1500)]


def _csv(student: Student) -> tuple[list[str], list[str]]:
    """The feature columns of the student's iris_test.csv and its first row's values."""
    with student.iris_test.open() as file:
        reader = csv.reader(file)
        header, first = next(reader), next(reader)
    return header[:-1], first[:-1]  # the last column is the target, species


def test_the_forest_page_has_one_field_per_column_of_the_students_csv(
    page_url: str, student: Student, browser_page
) -> None:
    page = browser_page.page
    page.goto(f"{page_url}/?model=iris_forest")
    fields = page.locator("input[data-feature]")
    names = [fields.nth(i).get_attribute("data-feature") for i in range(fields.count())]
    assert names == _csv(student)[0]


def test_filling_the_form_with_the_students_first_row_shows_its_class_name(
    page_url: str, student: Student, compressed: Compressed, browser_page
) -> None:
    page = browser_page.page
    page.goto(f"{page_url}/?model=iris_forest")
    for name, value in zip(*_csv(student), strict=True):
        page.fill(f'input[data-feature="{name}"]', value)
    page.click("#fields-submit")
    page.wait_for_selector('#fields-result[data-state="done"]', timeout=10_000)
    label = page.locator("#fields-result .answer-label").first.inner_text()
    x = student_rows(compressed.repository, "iris_forest")[0][:1]
    assert label == onnxruntime_classes(compressed.repository, "iris_forest", 1, x)[0]
    assert not [c for c in browser_page.console if "error" in c.lower()]
