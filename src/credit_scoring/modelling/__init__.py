"""Modelling: model zoo x imbalance strategies, business cost and threshold, calibration,
tuning, evaluation, MLflow registry, and the ``train`` stage that ties them together.

Public API: :func:`train_pipeline` (the stage), :func:`load_report` (its outputs, for the
notebook), :class:`TrainParams` (the ``train`` section of ``params.yaml``). The decision
contract (risk score, decision, :class:`~credit_scoring.scoring.Scorer`) lives in
:mod:`credit_scoring.scoring`.
"""

from credit_scoring.modelling.train import TrainParams, TrainReport, load_report, train_pipeline

__all__ = ["TrainParams", "TrainReport", "load_report", "train_pipeline"]
