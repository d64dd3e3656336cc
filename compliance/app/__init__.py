"""The modes (audit, evaluate, pr, deploy, backtest, rule tests): each chooses a window, the sources
and the outputs, then goes through the same judge and the same persistence path. Nothing here prints;
``cli/`` does.
"""
