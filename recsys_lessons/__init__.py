"""recsys_lessons: tested reference implementations for the recsys-lessons course.

Every lesson notebook builds an idea from scratch and then imports the version
from this package. The package is small on purpose: one idea per module, each
module short enough to read in one sitting.
"""

__version__ = "0.1.0"
