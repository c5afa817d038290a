/* Placeholder: the host side of the pool kernel family is being written. */
typedef int clseg__placeholder_pool;
