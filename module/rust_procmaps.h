/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shims for the static inlines and macros the Rust side of rust_procmaps
 * cannot call directly. Each is one line of C; the logic lives in Rust.
 */
#ifndef _RUST_PROCMAPS_H
#define _RUST_PROCMAPS_H

#include <linux/types.h>

struct cred;
struct file;
struct inode;
struct mm_struct;
struct path;
struct seq_file;
struct task_struct;
struct user_namespace;
struct vm_area_struct;

/* mm_lock.rs: first VMA ending above @addr (vma_iter_init + vma_next). */
struct vm_area_struct *rust_procmaps_vma_next(struct mm_struct *mm,
					      unsigned long addr);
/* mm_lock.rs: mmap_lock_speculate_try_begin(). */
bool rust_procmaps_speculate_try_begin(struct mm_struct *mm,
				       unsigned int *seq);
/* mm_lock.rs: mmap_lock_speculate_retry(). */
bool rust_procmaps_speculate_retry(struct mm_struct *mm, unsigned int seq);
/* mm_lock.rs: mmap_read_lock_killable(). */
int rust_procmaps_mmap_read_lock_killable(struct mm_struct *mm);
/* mm_lock.rs: vma_start_read_locked(), caller holds the mmap read lock. */
bool rust_procmaps_vma_start_read_locked(struct vm_area_struct *vma);

/* vma_format.rs: file_user_path(). */
const struct path *rust_procmaps_file_user_path(const struct file *f);
/* vma_format.rs: file_user_inode(). */
const struct inode *rust_procmaps_file_user_inode(const struct file *f);
/* vma_format.rs: vma_is_initial_heap(). */
bool rust_procmaps_vma_is_initial_heap(const struct vm_area_struct *vma);
/* vma_format.rs: vma_is_initial_stack(). */
bool rust_procmaps_vma_is_initial_stack(const struct vm_area_struct *vma);
/* vma_format.rs: seq_setwidth(). */
void rust_procmaps_seq_setwidth(struct seq_file *m, size_t size);

/* gate.rs: the address of kernel function @name (kprobes), NULL if unknown. */
void *rust_procmaps_kprobe_lookup(const char *name);

/* process_dirs.rs: next_task(), under rcu_read_lock(). */
struct task_struct *rust_procmaps_next_task(struct task_struct *p);
/* process_dirs.rs: tracepoint_synchronize_unregister(). */
void rust_procmaps_tracepoint_synchronize_unregister(void);

/* access.rs: current_cred(). */
const struct cred *rust_procmaps_current_cred(void);
/* access.rs: the dumpable mode of @task and its user namespace, under RCU. */
int rust_procmaps_task_dumpable(struct task_struct *task,
				struct user_namespace **user_ns);
/* access.rs: &task->signal->exec_update_lock. */
struct rw_semaphore *rust_procmaps_exec_update_lock(struct task_struct *task);

#endif /* _RUST_PROCMAPS_H */
