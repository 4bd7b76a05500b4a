from typing import Annotated, Any, Optional, Tuple

from zenml import step
from zenml.types import HTMLString, MarkdownString

import constants as C
from embedtune.evaluation.comparison import Comparison
from embedtune.evaluation.promotion import PromotionDecision
from embedtune.evaluation.report import html_report, markdown_table
from embedtune.serving.exports import ExportReport


@step
def write_report(
    comparison: Comparison,
    promotion_decision: PromotionDecision,
    train_generation: dict[str, Any],
    test_generation: dict[str, Any],
    exports: Optional[ExportReport] = None,
) -> Tuple[Annotated[HTMLString, C.REPORT_ARTIFACT], Annotated[MarkdownString, C.SUMMARY_ARTIFACT]]:
    """The HTML page shown in the dashboard and the Markdown summary, with the gate's decision
    and what generation produced on each split (counts, failures, costs), and how each export
    of the model scored (``exports``, when the run exported)."""
    generation = [train_generation, test_generation]
    return (
        HTMLString(html_report(comparison, promotion=promotion_decision, generation=generation,
                               exports=exports)),
        MarkdownString(markdown_table(comparison, promotion=promotion_decision, generation=generation,
                                       exports=exports)),
    )
