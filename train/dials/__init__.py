"""Analog pointer dials (the fractions of a m³ on a water meter): generated dials in many
styles, some held out, and the evaluation of the geometric reader on them."""
