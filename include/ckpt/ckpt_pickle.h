/*
 * ckpt_pickle.h - the pickle machine and the inert object graph it builds.
 *
 * The machine interprets all 68 opcodes of pickle protocols 0-5 and NEVER
 * executes anything: GLOBAL/STACK_GLOBAL/INST/EXT* produce *global reference*
 * nodes, calls (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST) produce *object* nodes
 * keeping the callable, args and kwargs, and BUILD stores the state on the
 * object it targets.  Memo entries are shared references: the graph may be a
 * DAG or cyclic.  Walk it only with a visited set and a depth bound
 * (ckpt_limits.max_depth).
 *
 * Memory: every node belongs to a ckpt_graph (an arena) and lives until
 * ckpt_graph_free.  str/bytes payloads may point into the input buffer when the
 * graph was created with CKPT_GRAPH_BORROW_INPUT: the caller then keeps the
 * input alive as long as the graph.
 */
#ifndef CKPT_PICKLE_H
#define CKPT_PICKLE_H

#include "ckpt_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ckpt_graph ckpt_graph;
typedef struct ckpt_value ckpt_value;

typedef enum ckpt_kind {
    CKPT_K_NONE = 0,
    CKPT_K_BOOL,
    CKPT_K_INT,       /* exact: int64 when it fits, else big (see ckpt_value_int_bytes) */
    CKPT_K_FLOAT,
    CKPT_K_STR,       /* UTF-8 (lone surrogates kept as 3-byte sequences, like 'surrogatepass') */
    CKPT_K_BYTES,
    CKPT_K_BYTEARRAY,
    CKPT_K_TUPLE,
    CKPT_K_LIST,
    CKPT_K_DICT,      /* insertion ordered, Python key equality (1 == 1.0 == True) */
    CKPT_K_SET,
    CKPT_K_FROZENSET,
    CKPT_K_GLOBAL,    /* module + name (as written in the file) */
    CKPT_K_OBJECT,    /* a call, inert: callable, args, kwargs, state */
    CKPT_K_PERSID,    /* a persistent id not replaced by a hook: ckpt_value_persid() */
    CKPT_K_BUFFER,    /* out-of-band buffer (NEXT_BUFFER / READONLY_BUFFER) */
    CKPT_K__COUNT
} ckpt_kind;

/* How an object node was made. */
typedef enum ckpt_call_kind {
    CKPT_CALL_REDUCE = 0,   /* callable(*args) */
    CKPT_CALL_NEWOBJ,       /* cls.__new__(cls, *args) */
    CKPT_CALL_NEWOBJ_EX,    /* cls.__new__(cls, *args, **kwargs) */
    CKPT_CALL_INST,         /* protocol 0 INST module name */
    CKPT_CALL_OBJ,          /* protocol 1 OBJ */
    CKPT_CALL_BUILD_ONLY    /* BUILD applied to a value that is not an object node
                               (e.g. a list or dict): the state is kept in a wrapper */
} ckpt_call_kind;

/* Graph flags. */
#define CKPT_GRAPH_BORROW_INPUT 1u  /* str/bytes may point into the input buffer */

/* Create an empty graph.  `limits`/`alloc` may be NULL for defaults; both are copied. */
CKPT_API ckpt_status ckpt_graph_new(const ckpt_limits *limits, const ckpt_allocator *alloc,
                                    unsigned flags, ckpt_graph **out);
/* Free the graph and every node in it.  NULL is allowed. */
CKPT_API void ckpt_graph_free(ckpt_graph *g);
/* Bytes currently allocated by the graph (counted against limits.max_memory). */
CKPT_API uint64_t ckpt_graph_memory(const ckpt_graph *g);
CKPT_API const ckpt_limits *ckpt_graph_limits(const ckpt_graph *g);

/* ---- reading values (all accessors accept NULL and return a neutral answer) ---- */

CKPT_API ckpt_kind ckpt_value_kind(const ckpt_value *v);
CKPT_API const char *ckpt_kind_name(ckpt_kind k);         /* "int", "dict", ... */
/* Stable node id within its graph (creation order), for visited sets / "shared" marks. */
CKPT_API uint64_t ckpt_value_id(const ckpt_value *v);
/* Number of nodes in the graph (ids are < this). */
CKPT_API uint64_t ckpt_graph_node_count(const ckpt_graph *g);

CKPT_API int ckpt_value_bool(const ckpt_value *v);        /* BOOL: 0/1 */
/* INT/BOOL as int64.  CKPT_E_RANGE if a big int does not fit; CKPT_E_TYPE otherwise. */
CKPT_API ckpt_status ckpt_value_int64(const ckpt_value *v, int64_t *out);
/* INT: exact value as little-endian two's complement bytes (minimal length, like
   pickle's LONG1 encoding; zero has length 0). */
CKPT_API const uint8_t *ckpt_value_int_bytes(const ckpt_value *v, size_t *len);
/* FLOAT value; INT/BOOL converted (big ints rounded).  NaN for other kinds. */
CKPT_API double ckpt_value_float(const ckpt_value *v);
/* STR (UTF-8), BYTES, BYTEARRAY: pointer + length.  NOT NUL-terminated. */
CKPT_API const uint8_t *ckpt_value_bytes(const ckpt_value *v, size_t *len);
/* 1 when v is a STR equal to the NUL-terminated `s`. */
CKPT_API int ckpt_value_is_str(const ckpt_value *v, const char *s);

/* Containers: TUPLE/LIST/SET/FROZENSET items; DICT pairs. */
CKPT_API size_t ckpt_value_len(const ckpt_value *v);
CKPT_API ckpt_value *ckpt_value_item(const ckpt_value *v, size_t i);
CKPT_API ckpt_value *ckpt_value_dict_key(const ckpt_value *v, size_t i);
CKPT_API ckpt_value *ckpt_value_dict_val(const ckpt_value *v, size_t i);
/* DICT lookup by string key (NULL if absent). */
CKPT_API ckpt_value *ckpt_dict_get(const ckpt_value *dict, const char *key);

/* GLOBAL: module and name as written (NUL-terminated).  `canonical` gives the
   registry key: Python 2 names mapped (__builtin__ -> builtins, copy_reg ->
   copyreg, ...) and numpy._core.* folded to numpy.core.*, "module.name". */
CKPT_API const char *ckpt_value_module(const ckpt_value *v);
CKPT_API const char *ckpt_value_name(const ckpt_value *v);
CKPT_API const char *ckpt_value_canonical(const ckpt_value *v);
/* EXT1/2/4: the extension code (0 when the global came from a name). */
CKPT_API int32_t ckpt_value_ext_code(const ckpt_value *v);

/* OBJECT */
CKPT_API ckpt_call_kind ckpt_value_call_kind(const ckpt_value *v);
CKPT_API ckpt_value *ckpt_value_callable(const ckpt_value *v); /* usually a GLOBAL */
CKPT_API ckpt_value *ckpt_value_args(const ckpt_value *v);     /* TUPLE (or whatever was there) */
CKPT_API ckpt_value *ckpt_value_kwargs(const ckpt_value *v);   /* NEWOBJ_EX only, else NULL */
/* State given by BUILD (NULL if none).  With several BUILDs on one object the
   last is returned; ckpt_value_state_count/ckpt_value_state_at list them all. */
CKPT_API ckpt_value *ckpt_value_state(const ckpt_value *v);
CKPT_API size_t ckpt_value_state_count(const ckpt_value *v);
CKPT_API ckpt_value *ckpt_value_state_at(const ckpt_value *v, size_t i);
/* For OBJECT/BUILD_ONLY: the items APPENDed/SETITEMed onto it are recorded in
   these containers (a list subclass / dict subclass instance such as OrderedDict). */
CKPT_API ckpt_value *ckpt_value_obj_list(const ckpt_value *v); /* LIST or NULL */
CKPT_API ckpt_value *ckpt_value_obj_dict(const ckpt_value *v); /* DICT or NULL */
/* For BUILD_ONLY wrappers: the value BUILD was applied to. */
CKPT_API ckpt_value *ckpt_value_build_target(const ckpt_value *v);
/* The class of an object, as "module.name" canonical key, resolving
   copyreg._reconstructor(cls, base, state) and copyreg.__newobj__(cls, ...)
   to `cls`; NULL if the callable is not a global. */
CKPT_API const char *ckpt_value_class(const ckpt_value *v);
/* Attribute by name: looks in the object's state (a dict, or the dict/slots
   pair of a (dict, slotstate) tuple).  NULL if absent. */
CKPT_API ckpt_value *ckpt_value_attr(const ckpt_value *v, const char *name);

/* PERSID: the persistent id value (usually a tuple). */
CKPT_API ckpt_value *ckpt_value_persid(const ckpt_value *v);

/* BUFFER: index of the out-of-band buffer, its data (NULL if none supplied),
   and whether READONLY_BUFFER was applied. */
CKPT_API size_t ckpt_value_buffer_index(const ckpt_value *v);
CKPT_API const uint8_t *ckpt_value_buffer_data(const ckpt_value *v, size_t *len);
CKPT_API int ckpt_value_buffer_readonly(const ckpt_value *v);

/* Attach format-layer data to an OBJECT node that BUILD was applied to (e.g.
   joblib's raw array bytes that followed a BUILD, from an after_build hook): a
   (file-relative) offset and a length.  Other nodes are left alone.  Used by
   loaders. */
CKPT_API void ckpt_value_set_payload(ckpt_value *v, uint64_t offset, uint64_t len);
/* 1 and the payload if one was attached. */
CKPT_API int ckpt_value_payload(const ckpt_value *v, uint64_t *offset, uint64_t *len);

/* ---- the registry of known globals ----
 *
 * What a global reference means to the layers above the machine, looked up by
 * its canonical "module.name" key (ckpt_value_canonical: Python 2 names mapped,
 * numpy._core folded into numpy.core).  The machine itself never acts on it;
 * format readers use it to turn known calls into typed values (arrays,
 * tensors, ordered dicts) and everything else stays an inert object.
 */
typedef enum ckpt_global_role {
    CKPT_GR_UNKNOWN = 0,      /* not in the registry: kept as an inert object */
    CKPT_GR_NUMPY_ARRAY,      /* numpy.core.multiarray._reconstruct, numpy.ndarray, _frombuffer */
    CKPT_GR_NUMPY_DTYPE,      /* numpy.dtype */
    CKPT_GR_NUMPY_SCALAR,     /* numpy.core.multiarray.scalar */
    CKPT_GR_TORCH_TENSOR,     /* torch._utils._rebuild_tensor*, _rebuild_parameter*, ... */
    CKPT_GR_TORCH_STORAGE,    /* torch.FloatStorage, ..., torch.storage.UntypedStorage */
    CKPT_GR_TORCH_DTYPE,      /* torch.float32, ... (dtype objects) */
    CKPT_GR_ORDERED_DICT,     /* collections.OrderedDict: items are the object's dict */
    CKPT_GR_BUILTIN_VALUE,    /* builtins set/frozenset/bytearray/slice/complex/range, _codecs.encode */
    CKPT_GR_COPYREG,          /* copyreg._reconstructor / __newobj__ / __newobj_ex__ */
    CKPT_GR_JOBLIB_ARRAY,     /* joblib NumpyArrayWrapper / NDArrayWrapper / ZNDArrayWrapper */
    CKPT_GR__COUNT
} ckpt_global_role;

/* Role of a canonical "module.name" (CKPT_GR_UNKNOWN when not registered or NULL). */
CKPT_API ckpt_global_role ckpt_global_role_of(const char *canonical);
/* "numpy-array", "torch-tensor", ... ("unknown" for CKPT_GR_UNKNOWN). */
CKPT_API const char *ckpt_global_role_name(ckpt_global_role r);

/* ---- making values (for hooks and format layers) ---- */
CKPT_API ckpt_value *ckpt_value_new_str(ckpt_graph *g, const char *s, size_t len);
CKPT_API ckpt_value *ckpt_value_new_int(ckpt_graph *g, int64_t i);
CKPT_API ckpt_value *ckpt_value_new_none(ckpt_graph *g);

/* ---- running the machine ---- */

/* Information about one pickle run. */
typedef struct ckpt_pickle_info {
    int protocol;               /* from PROTO, or 0/1 guessed by opcodes */
    uint64_t start;             /* offset of the first opcode */
    uint64_t end;               /* offset just after STOP */
    uint64_t ops;               /* opcodes executed */
    uint64_t opcode_count[256]; /* executions per opcode byte */
} ckpt_pickle_info;

/* Hooks.  Any member may be NULL.  A hook returning non-OK aborts the load with
   that status (the hook fills `err` detail if it wants). */
typedef struct ckpt_pickle_hooks {
    void *user;
    /* PERSID/BINPERSID: `pid` is the id; set *out to the replacement value, or
       leave it NULL to keep an inert PERSID node. */
    ckpt_status (*persistent_load)(void *user, ckpt_graph *g, ckpt_value *pid,
                                   ckpt_value **out, ckpt_error *err);
    /* NEXT_BUFFER: supply the data of out-of-band buffer number `index`
       (0-based, in stream order).  Leave *data NULL if unavailable (the BUFFER
       node then has no data).  Data must outlive the graph. */
    ckpt_status (*next_buffer)(void *user, size_t index, const uint8_t **data, size_t *len,
                               ckpt_error *err);
    /* Called after every BUILD with the object that received the state.  The
       hook may consume raw bytes that follow in the input: `buf`/`len` is the
       whole input and *pos the offset of the next opcode; advance *pos past
       what it consumed (the machine checks *pos <= len). */
    ckpt_status (*after_build)(void *user, ckpt_graph *g, ckpt_value *obj, const uint8_t *buf,
                               size_t len, size_t *pos, ckpt_error *err);
    /* Called for every global reference as it is made (GLOBAL, STACK_GLOBAL,
       INST, EXT1/2/4 resolved or not) with its opcode byte and offset, before
       any later error.  For STACK_GLOBAL whose operands are not both str,
       module/name are NULL and the load then fails. */
    void (*on_global)(void *user, const char *module, const char *name, uint8_t opcode,
                      uint64_t offset);
} ckpt_pickle_hooks;

/*
 * Run the machine on buf[start..len) until STOP.  On success *root is the
 * value left on the stack and info->end the offset after STOP (bytes after it
 * are not read).  On failure the status is returned, `err` names the opcode
 * and the byte offset, and the graph keeps what was built so far (free it
 * with ckpt_graph_free; nothing leaks).  `hooks` and `info` may be NULL.
 */
CKPT_API ckpt_status ckpt_pickle_load(ckpt_graph *g, const uint8_t *buf, size_t len, size_t start,
                                      const ckpt_pickle_hooks *hooks, ckpt_value **root,
                                      ckpt_pickle_info *info, ckpt_error *err);

/* ---- opcode table and disassembly ---- */

/* Name of an opcode byte ("BINUNICODE"), or NULL if not a pickle opcode. */
CKPT_API const char *ckpt_opcode_name(uint8_t code);
/* Lowest protocol that introduced the opcode, or -1. */
CKPT_API int ckpt_opcode_proto(uint8_t code);
/* Number of opcodes known (68). */
CKPT_API int ckpt_opcode_count(void);
/* The i-th opcode byte in pickletools order (0 <= i < 68). */
CKPT_API uint8_t ckpt_opcode_at(int i);

typedef struct ckpt_disasm_op {
    uint64_t offset;
    uint8_t code;
    const char *name;
    const char *arg;   /* argument rendered like pickletools.dis, "" if none; valid during the callback */
    int64_t depth;     /* stack depth (pickletools' "markobject" counting) before the op */
    int mark_level;    /* number of open MARKs */
} ckpt_disasm_op;

/* Walk the opcodes of one pickle without building values; stops after STOP
   (info->end) or at the first malformed opcode (returned status, `err`).
   The callback may return non-zero to stop early. */
CKPT_API ckpt_status ckpt_pickle_disasm(const uint8_t *buf, size_t len, size_t start,
                                        int (*cb)(void *user, const ckpt_disasm_op *op),
                                        void *user, ckpt_pickle_info *info, ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif /* CKPT_PICKLE_H */
