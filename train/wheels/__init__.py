"""The meter-window model (boxes mode): real meter crops and generated windows, training
(with teachers), and its evaluation on unseen meters and whole counters."""
