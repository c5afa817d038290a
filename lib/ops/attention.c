/* Placeholder: the host side of the attention kernel family is being written. */
typedef int clseg__placeholder_attention;
