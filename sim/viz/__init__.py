"""The workshop visualisation: a browser page (``outreach viz``) and animations.

Importing this package imports nothing heavy; the page needs the ``viz`` extra
(``pip install 'peer-outreach[viz]'``), the animation only matplotlib. The model never imports
this package.
"""
