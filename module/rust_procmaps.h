/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shims for the static inlines and macros the Rust side of rust_procmaps
 * cannot call directly, and for the exports of kernel/patches/. The logic
 * lives in Rust; the per-page smaps shims group
 * several inlines into one call (see smaps_walk.rs), and smaps' mm_walk_ops
 * table is here because Rust cannot name struct mm_walk_ops.
 */
#ifndef _RUST_PROCMAPS_H
#define _RUST_PROCMAPS_H

#include <linux/bits.h>
#include <linux/types.h>

#include <linux/mm_types.h>
#include <linux/spinlock_types.h>

struct file;
struct file_operations;
struct inode;
struct mm_walk;
struct path;
struct proc_ops;
struct seq_file;
struct task_struct;

/* mm_lock.rs: first VMA ending above @addr (vma_iter_init + vma_next). */
struct vm_area_struct *rust_procmaps_vma_next(struct mm_struct *mm,
					      unsigned long addr);
/*
 * mm_lock.rs: lock_next_vma() (kernel/patches/), under the caller's
 * rcu_read_lock() (held again on return), after vma_iter_init() if @reset;
 * *@vma the locked VMA or NULL past the last one, or a negative errno;
 * *@fell_back whether it took mmap_lock.
 */
int rust_procmaps_lock_next_vma(struct mm_struct *mm, struct vma_iterator *vmi,
				unsigned long addr, bool reset,
				struct vm_area_struct **vma, bool *fell_back);
/*
 * mm_lock.rs: the same in an RCU section of its own, with an iterator of its
 * own at @addr (as /proc's query_vma_find_by_addr()): one call per lookup.
 */
int rust_procmaps_lock_next_vma_at(struct mm_struct *mm, unsigned long addr,
				   struct vm_area_struct **vma, bool *fell_back);
/* mm_lock.rs: mmap_read_lock_killable(). */
int rust_procmaps_mmap_read_lock_killable(struct mm_struct *mm);
/* vma_format.rs: file_user_path(). */
const struct path *rust_procmaps_file_user_path(const struct file *f);
/* vma_format.rs: file_user_inode(). */
const struct inode *rust_procmaps_file_user_inode(const struct file *f);
/*
 * vma_format.rs: "[heap]" if vma_is_initial_heap(), else "[stack]" if
 * vma_is_initial_stack(), else NULL: one call where get_vma_name() asks both.
 */
const char *rust_procmaps_vma_heap_or_stack(const struct vm_area_struct *vma);
/* vma_format.rs: seq_setwidth(). */
void rust_procmaps_seq_setwidth(struct seq_file *m, size_t size);

/* gate.rs: get_gate_vma() (kernel/patches/). */
struct vm_area_struct *rust_procmaps_get_gate_vma(struct mm_struct *mm);

/* process_dirs.rs: next_task(), under rcu_read_lock(). */
struct task_struct *rust_procmaps_next_task(struct task_struct *p);
/* process_dirs.rs: tracepoint_synchronize_unregister(). */
void rust_procmaps_tracepoint_synchronize_unregister(void);
/*
 * files.rs: a proc_ops with the methods of @fops (struct proc_ops is not in
 * the kernel crate's bindings), for the tree in /proc under lockdown;
 * kfree() it once no entry uses it.
 */
const struct proc_ops *rust_procmaps_proc_ops_new(const struct file_operations *fops);
/* files.rs: security_locked_down(LOCKDOWN_DEBUGFS) != 0. */
bool rust_procmaps_debugfs_locked_down(void);

/* access.rs: mm_access(@task, PTRACE_MODE_READ_FSCREDS) (kernel/patches/). */
struct mm_struct *rust_procmaps_mm_access_read(struct task_struct *task);

/* query.rs: build_id_parse_file() (kernel/patches/). */
int rust_procmaps_build_id_parse_file(struct file *file,
				      unsigned char *build_id, __u32 *size);
/* query.rs: copy_struct_from_user(). */
int rust_procmaps_copy_struct_from_user(void *dst, size_t ksize,
					const void __user *src, size_t usize);

/* smaps: the inlines the page walk needs. */
/* smaps_file.rs: mmap_lock_is_contended(). */
bool rust_procmaps_mmap_lock_is_contended(struct mm_struct *mm);

/* smaps_walk.rs: the mm_walk_ops callbacks (defined in Rust). */
int rust_procmaps_smaps_pmd_entry(pmd_t *pmd, unsigned long addr,
				  unsigned long end, struct mm_walk *walk);
int rust_procmaps_smaps_hugetlb_entry(pte_t *pte, unsigned long hmask,
				      unsigned long addr, unsigned long end,
				      struct mm_walk *walk);
int rust_procmaps_smaps_pte_hole(unsigned long addr, unsigned long end,
				 int depth, struct mm_walk *walk);
/* smaps_walk.rs: walk_page_range_vma(@vma, @start, vm_end) with those callbacks. */
int rust_procmaps_walk_smaps(struct vm_area_struct *vma, unsigned long start,
			     bool mmap_locked, bool shmem_holes, void *private);
/* smaps_walk.rs: walk->action = ACTION_AGAIN (it reads vma and private). */
void rust_procmaps_walk_again(struct mm_walk *walk);
void rust_procmaps_cond_resched(void);
/*
 * smaps_walk.rs: struct mem_size_stats of task_mmu.c (struct MemSizeStats
 * there, same layout), in bytes, PSS values shifted left by PSS_SHIFT.
 */
#define RUST_PROCMAPS_PSS_SHIFT 12
struct rust_procmaps_mss {
	u64 resident;
	u64 shared_clean;
	u64 shared_dirty;
	u64 private_clean;
	u64 private_dirty;
	u64 referenced;
	u64 anonymous;
	u64 lazyfree;
	u64 anonymous_thp;
	u64 shmem_thp;
	u64 file_thp;
	u64 swap;
	u64 shared_hugetlb;
	u64 private_hugetlb;
	u64 ksm;
	u64 pss;
	u64 pss_anon;
	u64 pss_file;
	u64 pss_shmem;
	u64 pss_dirty;
	u64 pss_locked;
	u64 swap_pss;
};

/* smaps_walk.rs: a walk's private (struct Walk there, same layout). */
struct rust_procmaps_smaps_walk {
	struct rust_procmaps_mss *mss;
	bool shmem_holes;	/* swapped-out shmem counted hole by hole */
	bool locked;		/* VM_LOCKED: counts towards Locked */
	bool may_sleep;		/* the callbacks may reschedule */
};

/*
 * smaps_walk.rs: smaps_pmd_entry() of the huge @pmd (locked by the caller),
 * and smaps_hugetlb_range()'s count of @huge_pte (read from @pte under its
 * lock), into @w.
 */
void rust_procmaps_smaps_pmd(struct rust_procmaps_smaps_walk *w,
			     struct vm_area_struct *vma, unsigned long addr,
			     pmd_t *pmd);
void rust_procmaps_smaps_hugetlb(struct rust_procmaps_smaps_walk *w,
				 struct vm_area_struct *vma, pte_t *pte,
				 pte_t huge_pte);
/* What a PTE table's entries are counted into: its kind (PteSink in smaps_walk.rs). */
#define RUST_PROCMAPS_BATCH_SMAPS	0	/* struct rust_procmaps_smaps_walk */
#define RUST_PROCMAPS_BATCH_NUMA	1	/* struct rust_procmaps_numa_stats */
/* smaps_walk.rs: the start and the end of a PMD's walk, one call each. */
pte_t *rust_procmaps_pmd_map_lock(unsigned int kind, struct vm_area_struct *vma,
				  pmd_t *pmd, unsigned long addr, unsigned int nr,
				  void *out, spinlock_t **ptl);
void rust_procmaps_pte_unmap_unlock(pte_t *pte, spinlock_t *ptl, bool resched);
/* smaps_walk.rs: hugetlb inlines. */
spinlock_t *rust_procmaps_huge_pte_lock(struct vm_area_struct *vma,
					pte_t *pte);
pte_t rust_procmaps_huge_ptep_get(struct mm_struct *mm, unsigned long addr,
				  pte_t *pte);
/* smaps_walk.rs: shmem swap accounting. */
bool rust_procmaps_shmem_mapping(struct vm_area_struct *vma);
unsigned long rust_procmaps_shmem_swap_usage(struct vm_area_struct *vma);
unsigned long rust_procmaps_shmem_partial_swap_usage(struct vm_area_struct *vma,
						     unsigned long start,
						     unsigned long end);
/* smaps_file.rs: per-VMA values smaps prints. */
unsigned long rust_procmaps_vma_kernel_pagesize(struct vm_area_struct *vma);
unsigned long rust_procmaps_vma_mmu_pagesize(struct vm_area_struct *vma);
bool rust_procmaps_thp_eligible(struct vm_area_struct *vma);
int rust_procmaps_vma_pkey(struct vm_area_struct *vma);

#ifdef CONFIG_NUMA
struct mempolicy;
/*
 * numa_maps.rs: hold_task_mempolicy(): get_task_policy() (kernel/patches/)
 * under task_lock(), referenced; mpol_put() drops it.
 */
struct mempolicy *rust_procmaps_task_mempolicy_get(struct task_struct *task);
void rust_procmaps_mpol_put(struct mempolicy *pol);
/*
 * numa_maps.rs: the policy text show_numa_map() prints for @vma (held by the
 * caller): its own or shared policy (__get_vma_policy(), kernel/patches/), or
 * else @task_pol, by mpol_to_str() (kernel/patches/) into @buf.
 */
void rust_procmaps_vma_policy_str(struct vm_area_struct *vma,
				  struct mempolicy *task_pol, char *buf, int len);
/*
 * numa_maps.rs: struct numa_maps of task_mmu.c (struct NumaStats there, same
 * layout), its per-node counters at @node (nr_node_ids of them).
 */
struct rust_procmaps_numa_stats {
	unsigned long pages;
	unsigned long anon;
	unsigned long active;
	unsigned long writeback;
	unsigned long mapcount_max;
	unsigned long dirty;
	unsigned long swapcache;
	unsigned long *node;
};

/*
 * numa_maps.rs: gather_pte_stats()'s huge PMD @pmd (locked by the caller) and
 * gather_hugetlb_stats()'s @huge_pte (read under its lock) counted into @md.
 */
void rust_procmaps_numa_gather_pmd(struct rust_procmaps_numa_stats *md,
				   struct vm_area_struct *vma, unsigned long addr,
				   pmd_t *pmd);
void rust_procmaps_numa_gather_huge(struct rust_procmaps_numa_stats *md,
				    pte_t huge_pte);
/* numa_maps.rs: node_state(@nid, N_MEMORY). */
bool rust_procmaps_node_has_memory(int nid);
/* numa_maps.rs: the mm_walk_ops callbacks (defined in Rust). */
int rust_procmaps_numa_pmd_entry(pmd_t *pmd, unsigned long addr,
				 unsigned long end, struct mm_walk *walk);
int rust_procmaps_numa_hugetlb_entry(pte_t *pte, unsigned long hmask,
				     unsigned long addr, unsigned long end,
				     struct mm_walk *walk);
/* numa_maps.rs: walk_page_range_vma() of all of @vma with those callbacks. */
int rust_procmaps_walk_numa(struct vm_area_struct *vma, bool mmap_locked,
			    void *private);
#endif /* CONFIG_NUMA */

/*
 * remote_mem.rs: the page at @addr of @vma (read-locked by the caller), its
 * folio referenced, or NULL where no normal page is present; then the copy
 * from it that drops the reference, or the drop alone.
 */
struct page *rust_procmaps_pin_page(struct vm_area_struct *vma,
				    unsigned long addr);
void rust_procmaps_copy_unpin_page(struct page *page, unsigned int offset,
				   void *dst, unsigned int len);
void rust_procmaps_unpin_page(struct page *page);
/* remote_mem.rs: access_remote_vm(..., FOLL_ANON) (kernel/patches/0005). */
int rust_procmaps_access_remote_vm(struct mm_struct *mm, unsigned long addr,
				   void *buf, int len);
bool rust_procmaps_vma_is_anonymous(struct vm_area_struct *vma);
/* args_files.rs: the argument and environment bounds, under arg_lock. */
struct rust_procmaps_mm_args {
	unsigned long arg_start;
	unsigned long arg_end;
	unsigned long env_start;
	unsigned long env_end;
};

void rust_procmaps_mm_args(struct mm_struct *mm,
			   struct rust_procmaps_mm_args *out);

#endif /* _RUST_PROCMAPS_H */
