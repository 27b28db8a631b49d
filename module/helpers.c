// SPDX-License-Identifier: GPL-2.0
/*
 * rust_procmaps: thin wrappers around static inlines and macros.
 *
 * Nothing here takes a decision; see rust_procmaps.h for who calls what.
 */

#include <linux/fs.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/rcupdate.h>
#include <linux/sched/exec_state.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/tracepoint.h>

#include "rust_procmaps.h"

struct vm_area_struct *rust_procmaps_vma_next(struct mm_struct *mm,
					      unsigned long addr)
{
	VMA_ITERATOR(vmi, mm, addr);

	return vma_next(&vmi);
}

bool rust_procmaps_speculate_try_begin(struct mm_struct *mm, unsigned int *seq)
{
	return mmap_lock_speculate_try_begin(mm, seq);
}

bool rust_procmaps_speculate_retry(struct mm_struct *mm, unsigned int seq)
{
	return mmap_lock_speculate_retry(mm, seq);
}

int rust_procmaps_mmap_read_lock_killable(struct mm_struct *mm)
{
	return mmap_read_lock_killable(mm);
}

bool rust_procmaps_vma_start_read_locked(struct vm_area_struct *vma)
{
	return vma_start_read_locked(vma);
}

const struct path *rust_procmaps_file_user_path(const struct file *f)
{
	return file_user_path(f);
}

const struct inode *rust_procmaps_file_user_inode(const struct file *f)
{
	return file_user_inode(f);
}

bool rust_procmaps_vma_is_initial_heap(const struct vm_area_struct *vma)
{
	return vma_is_initial_heap(vma);
}

bool rust_procmaps_vma_is_initial_stack(const struct vm_area_struct *vma)
{
	return vma_is_initial_stack(vma);
}

void rust_procmaps_seq_setwidth(struct seq_file *m, size_t size)
{
	seq_setwidth(m, size);
}

void *rust_procmaps_kprobe_lookup(const char *name)
{
#ifdef CONFIG_KPROBES
	struct kprobe kp = { .symbol_name = name };
	void *addr;

	if (register_kprobe(&kp))
		return NULL;
	addr = kp.addr;
	unregister_kprobe(&kp);
	return addr;
#else
	return NULL;
#endif
}

struct task_struct *rust_procmaps_next_task(struct task_struct *p)
{
	return next_task(p);
}

void rust_procmaps_tracepoint_synchronize_unregister(void)
{
	tracepoint_synchronize_unregister();
}

const struct cred *rust_procmaps_current_cred(void)
{
	return current_cred();
}

int rust_procmaps_task_dumpable(struct task_struct *task,
				struct user_namespace **user_ns)
{
	struct task_exec_state *exec_state = rcu_dereference(task->exec_state);

	*user_ns = exec_state->user_ns;
	return READ_ONCE(exec_state->dumpable);
}

struct rw_semaphore *rust_procmaps_exec_update_lock(struct task_struct *task)
{
	return &task->signal->exec_update_lock;
}
