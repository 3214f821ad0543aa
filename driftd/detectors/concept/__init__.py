"""Concept drift on the error stream: ADWIN, Page-Hinkley, DDM and HDDM_A.

These follow river's detectors (``river.drift``) step for step and are tested to
flag drift at the same indices on the same streams. They are re-implemented
rather than wrapped because river keeps ADWIN's state inside a compiled object
whose only serialisation is opaque bytes; here every detector's state is a few
numbers and lists, so it checkpoints to JSON like everything else. One detector
per module, each with a doctest that pins where it fires.

Each ``update(x)`` takes one value of the error stream (0/1 misclassification, or
absolute error for regression) and returns True when it detects a change.
"""

from driftd.detectors.concept.adwin import ADWIN
from driftd.detectors.concept.ddm import DDM
from driftd.detectors.concept.error_stream import METHODS, ConceptDetector, ConceptDrift
from driftd.detectors.concept.hddm_a import HDDM_A
from driftd.detectors.concept.page_hinkley import PageHinkley

__all__ = ["ADWIN", "DDM", "HDDM_A", "METHODS", "ConceptDetector", "ConceptDrift", "PageHinkley"]
