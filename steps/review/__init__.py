"""Stage 2b (optional): human review of the generated queries in Argilla.

``push_for_review`` sends train and test queries to one Argilla dataset per generated data
version; ``pull_reviews`` applies the submitted/discarded responses and returns the reviewed
queries that training and evaluation then use. Both talk to a live server whose state changes
outside ZenML, so neither is cached. A failure (server down, bad key, changed settings) stops
the run with a message saying what to do; the generated queries are already artifacts by then.
"""

from steps.review.pull_reviews import pull_reviews
from steps.review.push_for_review import push_for_review

__all__ = ["pull_reviews", "push_for_review"]
