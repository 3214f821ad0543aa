"""`driftd demo`: a simulated credit-scoring app and its model, on the embedded runtime.

:mod:`.app` is the app: it publishes predictions and delayed labels through the SDK
while a covariate shift, a concept shift and a fairness regression are injected;
:mod:`.loop` is the second act, where the alerts' retraining requests are taken by
the worker, the challenger is promoted and the app hot-swaps. The demo sits on top of
driftd like any user would: nothing in driftd imports it.
"""
