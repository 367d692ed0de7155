"""Metrics that mmseg lacks (Hungarian-matched mIoU, EmerDiff protocols) land here."""
