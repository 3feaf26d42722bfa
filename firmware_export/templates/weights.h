${banner}
/* Every array is const, so it stays in flash. Included by ${prefix}.c only. */
#ifndef ${PREFIX}_WEIGHTS_H
#define ${PREFIX}_WEIGHTS_H

#include <stdint.h>

${arrays}
#endif /* ${PREFIX}_WEIGHTS_H */
