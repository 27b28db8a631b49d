// SPDX-License-Identifier: GPL-2.0
/*
 * rust_procmaps: thin wrappers around static inlines and macros, the calls
 * of the exports of kernel/patches/ (plain references: a kernel without
 * them refuses the module with "Unknown symbol"), and what only C can
 * express: smaps' mm_walk_ops table (Rust only picks one of its entries). The
 * per-page smaps shims group several inlines into one call, and one is a copy
 * of an inline of fs/proc/internal.h, a header modules cannot include. No
 * locking decision is taken here; see rust_procmaps.h for who calls what.
 */

#include <linux/buildid.h>
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/leafops.h>
#include <linux/mempolicy.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pagewalk.h>
#include <linux/pkeys.h>
#include <linux/proc_fs.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/security.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/shmem_fs.h>
#include <linux/swap.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>

#include "rust_procmaps.h"

/*
 * With CONFIG_RUST_INLINE_HELPERS this file is only built as LLVM bitcode and
 * linked into the module's Rust object (Kbuild), as the kernel's rust/helpers/
 * are. Like their __rust_helper, every wrapper is then __always_inline: LLVM
 * does not inline C into Rust on its own (attribute mismatches, see
 * rust/helpers/helpers.c), and a wrapper left as a call is the call the
 * bitcode link was meant to remove. The symbols stay (GNU inline semantics)
 * until llvm-link --internalize drops the unused ones.
 */
#ifdef CONFIG_RUST_INLINE_HELPERS
#define __procmaps_helper __always_inline
#else
#define __procmaps_helper
#endif

__procmaps_helper struct vm_area_struct *rust_procmaps_vma_next(struct mm_struct *mm,
								unsigned long addr)
{
	VMA_ITERATOR(vmi, mm, addr);

	return vma_next(&vmi);
}

/* lock_next_vma(): exported by kernel/patches/0004. */
__procmaps_helper int rust_procmaps_lock_next_vma(struct mm_struct *mm, struct vma_iterator *vmi,
						  unsigned long addr, bool reset,
						  struct vm_area_struct **vma, bool *fell_back)
{
	struct vm_area_struct *v;

	if (reset)
		vma_iter_init(vmi, mm, addr);
	v = lock_next_vma(mm, vmi, addr);

	/*
	 * Only lock_next_vma()'s mmap_lock fallback ends with vma_iter_set(),
	 * which leaves the maple state in ma_start; every other path ends
	 * with the vma_next() that found (or did not find) the VMA.
	 */
	*fell_back = vmi->mas.status == ma_start;
	if (IS_ERR(v))
		return PTR_ERR(v);
	*vma = v;
	return 0;
}

__procmaps_helper int rust_procmaps_lock_next_vma_at(struct mm_struct *mm, unsigned long addr,
						     struct vm_area_struct **vma, bool *fell_back)
{
	VMA_ITERATOR(vmi, mm, addr);
	int ret;

	rcu_read_lock();
	ret = rust_procmaps_lock_next_vma(mm, &vmi, addr, false, vma, fell_back);
	rcu_read_unlock();
	return ret;
}

__procmaps_helper int rust_procmaps_mmap_read_lock_killable(struct mm_struct *mm)
{
	return mmap_read_lock_killable(mm);
}

__procmaps_helper const struct path *rust_procmaps_file_user_path(const struct file *f)
{
	return file_user_path(f);
}

__procmaps_helper const struct inode *rust_procmaps_file_user_inode(const struct file *f)
{
	return file_user_inode(f);
}

__procmaps_helper const char *rust_procmaps_vma_heap_or_stack(const struct vm_area_struct *vma)
{
	if (vma_is_initial_heap(vma))
		return "[heap]";
	if (vma_is_initial_stack(vma))
		return "[stack]";
	return NULL;
}

__procmaps_helper void rust_procmaps_seq_setwidth(struct seq_file *m, size_t size)
{
	seq_setwidth(m, size);
}

__procmaps_helper struct task_struct *rust_procmaps_next_task(struct task_struct *p)
{
	return next_task(p);
}

__procmaps_helper void rust_procmaps_tracepoint_synchronize_unregister(void)
{
	tracepoint_synchronize_unregister();
}

__procmaps_helper const struct proc_ops *
rust_procmaps_proc_ops_new(const struct file_operations *fops)
{
	const struct proc_ops ops = {
		.proc_open = fops->open,
		.proc_read = fops->read,
		.proc_lseek = fops->llseek,
		.proc_release = fops->release,
		.proc_ioctl = fops->unlocked_ioctl,
#ifdef CONFIG_COMPAT
		.proc_compat_ioctl = fops->compat_ioctl,
#endif
	};

	return kmemdup(&ops, sizeof(ops), GFP_KERNEL);
}

/*
 * Whether debugfs refuses files with an ioctl: the kernel is locked down
 * (security_locked_down() is a static inline returning 0 without
 * CONFIG_SECURITY, where bindgen has no function to bind).
 */
__procmaps_helper bool rust_procmaps_debugfs_locked_down(void)
{
	return security_locked_down(LOCKDOWN_DEBUGFS) != 0;
}

/*
 * get_gate_vma() and mm_access(): exported by kernel/patches/0002, called
 * directly, never through a pointer (see gate.rs on IBT).
 */
__procmaps_helper struct vm_area_struct *rust_procmaps_get_gate_vma(struct mm_struct *mm)
{
	return get_gate_vma(mm);
}

__procmaps_helper struct mm_struct *rust_procmaps_mm_access_read(struct task_struct *task)
{
	return mm_access(task, PTRACE_MODE_READ_FSCREDS);
}

/* build_id_parse_file(): exported by kernel/patches/0003. */
__procmaps_helper int rust_procmaps_build_id_parse_file(struct file *file,
							unsigned char *build_id, __u32 *size)
{
	return build_id_parse_file(file, build_id, size);
}

__procmaps_helper int rust_procmaps_copy_struct_from_user(void *dst, size_t ksize,
							  const void __user *src, size_t usize)
{
	return copy_struct_from_user(dst, ksize, src, usize);
}

__procmaps_helper bool rust_procmaps_mmap_lock_is_contended(struct mm_struct *mm)
{
	return mmap_lock_is_contended(mm);
}

/* The smaps walk: the callbacks are in smaps_walk.rs. */
static const struct mm_walk_ops smaps_ops[2][2] = {
	[false][false] = {
		.pmd_entry = rust_procmaps_smaps_pmd_entry,
		.hugetlb_entry = rust_procmaps_smaps_hugetlb_entry,
		.walk_lock = PGWALK_VMA_RDLOCK_VERIFY,
	},
	[false][true] = {
		.pmd_entry = rust_procmaps_smaps_pmd_entry,
		.hugetlb_entry = rust_procmaps_smaps_hugetlb_entry,
		.pte_hole = rust_procmaps_smaps_pte_hole,
		.walk_lock = PGWALK_VMA_RDLOCK_VERIFY,
	},
	[true][false] = {
		.pmd_entry = rust_procmaps_smaps_pmd_entry,
		.hugetlb_entry = rust_procmaps_smaps_hugetlb_entry,
		.walk_lock = PGWALK_RDLOCK,
	},
	[true][true] = {
		.pmd_entry = rust_procmaps_smaps_pmd_entry,
		.hugetlb_entry = rust_procmaps_smaps_hugetlb_entry,
		.pte_hole = rust_procmaps_smaps_pte_hole,
		.walk_lock = PGWALK_RDLOCK,
	},
};

__procmaps_helper int rust_procmaps_walk_smaps(struct vm_area_struct *vma, unsigned long start,
					       bool mmap_locked, bool shmem_holes, void *private)
{
	return walk_page_range_vma(vma, start, vma->vm_end,
				   &smaps_ops[mmap_locked][shmem_holes], private);
}

/* smaps_walk.rs reads these two fields of struct mm_walk itself. */
static_assert(offsetof(struct mm_walk, vma) == 24);
static_assert(offsetof(struct mm_walk, private) == 40);

__procmaps_helper void rust_procmaps_walk_again(struct mm_walk *walk)
{
	walk->action = ACTION_AGAIN;
}

__procmaps_helper void rust_procmaps_cond_resched(void)
{
	cond_resched();
}

/*
 * folio_precise_page_mapcount() of fs/proc/internal.h, a header modules
 * cannot include (CONFIG_PAGE_MAPCOUNT, which our configs enable).
 */
static __always_inline int precise_page_mapcount(struct folio *folio, struct page *page)
{
	int mapcount = atomic_read(&page->_mapcount) + 1;

	if (page_mapcount_is_type(mapcount))
		mapcount = 0;
	if (folio_test_large(folio))
		mapcount += folio_entire_mapcount(folio);
	return mapcount;
}

/*
 * smaps' counting, in C: smaps_page_accumulate(), smaps_account(),
 * smaps_pte_entry(), smaps_pmd_entry() and smaps_hugetlb_range()'s count
 * (static in task_mmu.c), value for value; smaps_walk.rs walks. The
 * per-page loop is one language: split between C reading a page's facts
 * and Rust counting them, it executed 1.29x /proc's instructions (1 GiB of
 * 4 KiB pages), as numa_maps' did before its counting moved here.
 */
static __always_inline void mss_accumulate(struct rust_procmaps_mss *mss,
					   struct folio *folio, unsigned long size,
					   u64 pss, bool dirty, bool locked,
					   bool private)
{
	mss->pss += pss;
	if (folio_test_anon(folio))
		mss->pss_anon += pss;
	else if (folio_test_swapbacked(folio))
		mss->pss_shmem += pss;
	else
		mss->pss_file += pss;
	if (locked)
		mss->pss_locked += pss;
	if (dirty || folio_test_dirty(folio)) {
		mss->pss_dirty += pss;
		if (private)
			mss->private_dirty += size;
		else
			mss->shared_dirty += size;
	} else {
		if (private)
			mss->private_clean += size;
		else
			mss->shared_clean += size;
	}
}

static __always_inline void mss_account(struct rust_procmaps_mss *mss, struct page *page,
					bool compound, bool young, bool dirty,
					bool locked, bool present)
{
	struct folio *folio = page_folio(page);
	unsigned long i, nr = compound ? compound_nr(page) : 1;
	unsigned long size = nr * PAGE_SIZE;

	if (folio_test_anon(folio)) {
		mss->anonymous += size;
		if (!folio_test_swapbacked(folio) && !dirty && !folio_test_dirty(folio))
			mss->lazyfree += size;
	}
	if (folio_test_ksm(folio))
		mss->ksm += size;
	mss->resident += size;
	if (young || folio_test_young(folio) || folio_test_referenced(folio))
		mss->referenced += size;

	/*
	 * A present entry with refcount 1 is mapped exactly once; non-present
	 * entries count as "maybe shared, not sure how often" (their mapcount
	 * must not be read).
	 */
	if (folio_ref_count(folio) == 1 || !present) {
		mss_accumulate(mss, folio, size, (u64)size << RUST_PROCMAPS_PSS_SHIFT,
			       dirty, locked, present);
		return;
	}
	for (i = 0; i < nr; i++, page++) {
		int mapcount = precise_page_mapcount(folio, page);
		u64 pss = (u64)PAGE_SIZE << RUST_PROCMAPS_PSS_SHIFT;

		if (mapcount >= 2)
			pss = div_u64(pss, mapcount);
		mss_accumulate(mss, folio, PAGE_SIZE, pss, dirty, locked, mapcount < 2);
	}
}

static __always_inline void smaps_pte(struct rust_procmaps_smaps_walk *w,
				      struct vm_area_struct *vma, pte_t ptent,
				      unsigned long addr)
{
	struct rust_procmaps_mss *mss = w->mss;
	bool present = false, young = false, dirty = false;
	struct page *page = NULL;

	if (pte_present(ptent)) {
		page = vm_normal_page(vma, addr, ptent);
		young = pte_young(ptent);
		dirty = pte_dirty(ptent);
		present = true;
	} else if (pte_none(ptent)) {
		if (w->shmem_holes)
			mss->swap += rust_procmaps_shmem_partial_swap_usage(vma, addr,
									    addr + PAGE_SIZE);
	} else {
		const softleaf_t entry = softleaf_from_pte(ptent);

		if (softleaf_is_swap(entry)) {
			int mapcount = swp_swapcount(entry);
			u64 pss = (u64)PAGE_SIZE << RUST_PROCMAPS_PSS_SHIFT;

			mss->swap += PAGE_SIZE;
			if (mapcount >= 2)
				pss = div_u64(pss, mapcount);
			mss->swap_pss += pss;
		} else if (softleaf_has_pfn(entry)) {
			present = softleaf_is_device_private(entry);
			page = softleaf_to_page(entry);
		}
	}
	if (page)
		mss_account(mss, page, false, young, dirty, w->locked, present);
}

static void smaps_pte_batch(struct vm_area_struct *vma, pte_t *pte,
			    unsigned long addr, unsigned int nr,
			    struct rust_procmaps_smaps_walk *w)
{
	unsigned int i;

	for (i = 0; i < nr; i++, addr += PAGE_SIZE)
		smaps_pte(w, vma, ptep_get(pte + i), addr);
}

__procmaps_helper void rust_procmaps_smaps_pmd(struct rust_procmaps_smaps_walk *w,
					       struct vm_area_struct *vma,
					       unsigned long addr, pmd_t *pmd)
{
	struct rust_procmaps_mss *mss = w->mss;
	pmd_t pmdv = pmdp_get(pmd);
	struct page *page = NULL;
	bool present = false;
	struct folio *folio;

	if (pmd_none(pmdv))
		return;
	if (pmd_present(pmdv)) {
		page = vm_normal_page_pmd(vma, addr, pmdv);
		present = true;
	} else if (unlikely(thp_migration_supported())) {
		const softleaf_t entry = softleaf_from_pmd(pmdv);

		if (softleaf_has_pfn(entry))
			page = softleaf_to_page(entry);
	}
	if (IS_ERR_OR_NULL(page))
		return;
	folio = page_folio(page);
	if (folio_test_anon(folio))
		mss->anonymous_thp += HPAGE_PMD_SIZE;
	else if (folio_test_swapbacked(folio))
		mss->shmem_thp += HPAGE_PMD_SIZE;
	else if (!folio_is_zone_device(folio))
		mss->file_thp += HPAGE_PMD_SIZE;
	mss_account(mss, page, true, pmd_young(pmdv), pmd_dirty(pmdv), w->locked, present);
}

__procmaps_helper void rust_procmaps_smaps_hugetlb(struct rust_procmaps_smaps_walk *w,
						   struct vm_area_struct *vma, pte_t *pte,
						   pte_t huge_pte)
{
	struct folio *folio = NULL;
	bool present = false;

	if (pte_present(huge_pte)) {
		folio = page_folio(pte_page(huge_pte));
		present = true;
	} else {
		const softleaf_t entry = softleaf_from_pte(huge_pte);

		if (softleaf_has_pfn(entry))
			folio = softleaf_to_folio(entry);
	}
	if (!folio)
		return;
	/* Non-present entries count as "maybe shared". */
	if (!present || folio_maybe_mapped_shared(folio) || hugetlb_pmd_shared(pte))
		w->mss->shared_hugetlb += huge_page_size(hstate_vma(vma));
	else
		w->mss->private_hugetlb += huge_page_size(hstate_vma(vma));
}

static_assert(sizeof(struct rust_procmaps_mss) == 22 * 8);
static_assert(offsetof(struct rust_procmaps_mss, swap_pss) == 21 * 8);
static_assert(sizeof(struct rust_procmaps_smaps_walk) == 16);

#ifdef CONFIG_NUMA
static void numa_pte_batch(struct vm_area_struct *vma, pte_t *pte,
			   unsigned long addr, unsigned int nr,
			   struct rust_procmaps_numa_stats *md);
#endif

/*
 * The @nr entries of a PTE table that the caller holds mapped and locked,
 * from @pte for @addr, counted into @out as the walk of @kind
 * (RUST_PROCMAPS_BATCH_*) counts.
 */
static void pte_batch(unsigned int kind, struct vm_area_struct *vma, pte_t *pte,
		      unsigned long addr, unsigned int nr, void *out)
{
#ifdef CONFIG_NUMA
	if (kind == RUST_PROCMAPS_BATCH_NUMA) {
		numa_pte_batch(vma, pte, addr, nr, out);
		return;
	}
#endif
	smaps_pte_batch(vma, pte, addr, nr, out);
}

/*
 * The start of smaps_pte_range() for @pmd, in one call:
 * pmd_trans_huge_lock(); for a page table, pte_offset_map_lock() and its
 * @nr entries from @addr counted into @out by pte_batch(). Returns the table
 * mapped and locked with *@ptl; or NULL with *@ptl the held lock of a huge
 * @pmd; or NULL with *@ptl NULL if the table went away meanwhile.
 *
 * Every Rust -> C call is a real call, and a small VMA's walk is one PMD of
 * one page table: this and the next helper replace five calls. Not
 * __procmaps_helper: the call is made once a page table anyway.
 */
pte_t *rust_procmaps_pmd_map_lock(unsigned int kind, struct vm_area_struct *vma,
				  pmd_t *pmd, unsigned long addr, unsigned int nr,
				  void *out, spinlock_t **ptl)
{
	pte_t *pte;

	*ptl = pmd_trans_huge_lock(pmd, vma);
	if (*ptl)
		return NULL;
	pte = pte_offset_map_lock(vma->vm_mm, pmd, addr, ptl);
	if (!pte) {
		*ptl = NULL;
		return NULL;
	}
	pte_batch(kind, vma, pte, addr, nr, out);
	return pte;
}

/*
 * The end of smaps_pte_range() for a page table: unmap, unlock, and resched
 * unless the walk runs inside an RCU read-side section (@resched false).
 */
__procmaps_helper void rust_procmaps_pte_unmap_unlock(pte_t *pte, spinlock_t *ptl,
						      bool resched)
{
	pte_unmap_unlock(pte, ptl);
	if (resched)
		cond_resched();
}

__procmaps_helper spinlock_t *rust_procmaps_huge_pte_lock(struct vm_area_struct *vma,
							  pte_t *pte)
{
	return huge_pte_lock(hstate_vma(vma), vma->vm_mm, pte);
}

__procmaps_helper pte_t rust_procmaps_huge_ptep_get(struct mm_struct *mm, unsigned long addr,
						    pte_t *pte)
{
	return huge_ptep_get(mm, addr, pte);
}

__procmaps_helper bool rust_procmaps_shmem_mapping(struct vm_area_struct *vma)
{
	return vma->vm_file && shmem_mapping(vma->vm_file->f_mapping);
}

__procmaps_helper unsigned long rust_procmaps_shmem_swap_usage(struct vm_area_struct *vma)
{
	return shmem_swap_usage(vma);
}

__procmaps_helper unsigned long rust_procmaps_shmem_partial_swap_usage(struct vm_area_struct *vma,
								       unsigned long start,
								       unsigned long end)
{
	return shmem_partial_swap_usage(vma->vm_file->f_mapping,
					linear_page_index(vma, start),
					linear_page_index(vma, end));
}

__procmaps_helper unsigned long rust_procmaps_vma_kernel_pagesize(struct vm_area_struct *vma)
{
	return vma_kernel_pagesize(vma);
}

__procmaps_helper unsigned long rust_procmaps_vma_mmu_pagesize(struct vm_area_struct *vma)
{
	return vma_mmu_pagesize(vma);
}

__procmaps_helper bool rust_procmaps_thp_eligible(struct vm_area_struct *vma)
{
	return thp_vma_allowable_orders(vma, vma->vm_flags, TVA_SMAPS,
					THP_ORDERS_ALL);
}

/* ProtectionKey of @vma, or -1 when the CPU has no protection keys. */
__procmaps_helper int rust_procmaps_vma_pkey(struct vm_area_struct *vma)
{
	return arch_pkeys_enabled() ? vma_pkey(vma) : -1;
}

#ifdef CONFIG_NUMA
__procmaps_helper struct mempolicy *rust_procmaps_task_mempolicy_get(struct task_struct *task)
{
	struct mempolicy *pol;

	task_lock(task);
	pol = get_task_policy(task);
	mpol_get(pol);
	task_unlock(task);
	return pol;
}

__procmaps_helper void rust_procmaps_mpol_put(struct mempolicy *pol)
{
	mpol_put(pol);
}

__procmaps_helper void rust_procmaps_vma_policy_str(struct vm_area_struct *vma,
						    struct mempolicy *task_pol, char *buf,
						    int len)
{
	struct mempolicy *pol;
	pgoff_t ilx;

	pol = __get_vma_policy(vma, vma->vm_start, &ilx);
	if (pol) {
		mpol_to_str(buf, len, pol);
		mpol_cond_put(pol);
	} else {
		mpol_to_str(buf, len, task_pol);
	}
}

/*
 * numa_maps' counting, in C: gather_stats() and the page tests of
 * can_gather_numa_stats() (static in task_mmu.c), for the PTE batch below
 * and for the huge PMD and hugetlb entries. The per-page loop is one
 * language: split between C reading a page's facts and Rust counting them,
 * it executed 1.25x /proc's instructions (1 GiB of 4 KiB pages), the C half
 * alone as many as /proc's whole loop.
 */
static __always_inline void numa_gather(struct rust_procmaps_numa_stats *md,
					struct page *page, bool pte_dirty,
					unsigned long nr_pages)
{
	struct folio *folio = page_folio(page);
	/* As smaps: CONFIG_PAGE_MAPCOUNT, which our configurations and Debian's enable. */
	int count = precise_page_mapcount(folio, page);

	md->pages += nr_pages;
	if (pte_dirty || folio_test_dirty(folio))
		md->dirty += nr_pages;
	if (folio_test_swapcache(folio))
		md->swapcache += nr_pages;
	if (folio_test_active(folio) || folio_test_unevictable(folio))
		md->active += nr_pages;
	if (folio_test_writeback(folio))
		md->writeback += nr_pages;
	if (folio_test_anon(folio))
		md->anon += nr_pages;
	/* int against unsigned long, as in C: a negative count is a huge one. */
	if (count > md->mapcount_max)
		md->mapcount_max = count;
	md->node[folio_nid(folio)] += nr_pages;
}

/* The end of can_gather_numa_stats() and can_gather_numa_stats_pmd(). */
static __always_inline bool numa_countable(struct page *page)
{
	return !PageReserved(page) && node_isset(page_to_nid(page), node_states[N_MEMORY]);
}

__procmaps_helper void rust_procmaps_numa_gather_pmd(struct rust_procmaps_numa_stats *md,
						     struct vm_area_struct *vma,
						     unsigned long addr, pmd_t *pmdp)
{
	pmd_t pmd = pmdp_get(pmdp);
	struct page *page;

	if (!pmd_present(pmd))
		return;
	page = vm_normal_page_pmd(vma, addr, pmd);
	if (page && numa_countable(page))
		numa_gather(md, page, pmd_dirty(pmd), HPAGE_PMD_SIZE / PAGE_SIZE);
}

__procmaps_helper void rust_procmaps_numa_gather_huge(struct rust_procmaps_numa_stats *md,
						      pte_t huge_pte)
{
	if (pte_present(huge_pte))
		numa_gather(md, pte_page(huge_pte), pte_dirty(huge_pte), 1);
}

/*
 * The batch of numa_maps' walk (pte_batch()):
 * gather_pte_stats()'s loop over @nr entries, counted into @md.
 */
static void numa_pte_batch(struct vm_area_struct *vma, pte_t *pte,
			   unsigned long addr, unsigned int nr,
			   struct rust_procmaps_numa_stats *md)
{
	unsigned int i;

	for (i = 0; i < nr; i++, addr += PAGE_SIZE) {
		pte_t ptent = ptep_get(pte + i);
		struct page *page;

		if (!pte_present(ptent))
			continue;
		page = vm_normal_page(vma, addr, ptent);
		if (page && !is_zone_device_page(page) && numa_countable(page))
			numa_gather(md, page, pte_dirty(ptent), 1);
	}
}

__procmaps_helper bool rust_procmaps_node_has_memory(int nid)
{
	return node_state(nid, N_MEMORY);
}

/* The numa_maps walk: the callbacks are in numa_maps.rs. */
static const struct mm_walk_ops numa_ops[2] = {
	[false] = {
		.pmd_entry = rust_procmaps_numa_pmd_entry,
		.hugetlb_entry = rust_procmaps_numa_hugetlb_entry,
		.walk_lock = PGWALK_VMA_RDLOCK_VERIFY,
	},
	[true] = {
		.pmd_entry = rust_procmaps_numa_pmd_entry,
		.hugetlb_entry = rust_procmaps_numa_hugetlb_entry,
		.walk_lock = PGWALK_RDLOCK,
	},
};

__procmaps_helper int rust_procmaps_walk_numa(struct vm_area_struct *vma, bool mmap_locked,
					      void *private)
{
	return walk_page_range_vma(vma, vma->vm_start, vma->vm_end,
				   &numa_ops[mmap_locked], private);
}
#endif /* CONFIG_NUMA */

/*
 * remote_mem.rs: the page mapped at @addr in @vma, with a reference on its
 * folio, or NULL where no normal page is present (never touched, swapped out,
 * migrating, the zero page). A one-page walk_page_range_vma(), which checks
 * that the caller holds @vma's read lock (PGWALK_VMA_RDLOCK_VERIFY); the
 * entry is read under its page-table lock, as GUP's follow_page_mask() does,
 * and nothing is faulted in or split. All of it is static inlines: here, in
 * one call.
 */
static int pin_page_pmd_entry(pmd_t *pmd, unsigned long addr, unsigned long end,
			      struct mm_walk *walk)
{
	struct vm_area_struct *vma = walk->vma;
	struct page **out = walk->private;
	struct page *page = NULL;
	spinlock_t *ptl; /* the PMD's or the page table's lock */
	pte_t *pte, ptent;
	pmd_t pmdval;

	walk->action = ACTION_CONTINUE;
	ptl = pmd_trans_huge_lock(pmd, vma);
	if (ptl) {
		pmdval = pmdp_get(pmd);
		if (pmd_present(pmdval)) {
			page = vm_normal_page_pmd(vma, addr, pmdval);
			if (page)
				page += (addr & ~PMD_MASK) >> PAGE_SHIFT;
		}
		if (page && !folio_try_get(page_folio(page)))
			page = NULL;
		spin_unlock(ptl);
		*out = page;
		return 0;
	}
	pte = pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
	if (!pte) {
		/* The table went away meanwhile: walk this PMD again. */
		walk->action = ACTION_AGAIN;
		return 0;
	}
	ptent = ptep_get(pte);
	if (pte_present(ptent))
		page = vm_normal_page(vma, addr, ptent);
	if (page && !folio_try_get(page_folio(page)))
		page = NULL;
	pte_unmap_unlock(pte, ptl);
	*out = page;
	return 0;
}

static const struct mm_walk_ops pin_page_ops = {
	.pmd_entry = pin_page_pmd_entry,
	.walk_lock = PGWALK_VMA_RDLOCK_VERIFY,
};

__procmaps_helper struct page *rust_procmaps_pin_page(struct vm_area_struct *vma,
						      unsigned long addr)
{
	struct page *page = NULL;

	addr &= PAGE_MASK;
	if (walk_page_range_vma(vma, addr, addr + PAGE_SIZE, &pin_page_ops, &page))
		return NULL;
	return page;
}

/* remote_mem.rs: copy @len bytes at @offset of @page, then drop its reference. */
__procmaps_helper void rust_procmaps_copy_unpin_page(struct page *page, unsigned int offset,
						     void *dst, unsigned int len)
{
	void *src = kmap_local_page(page);

	memcpy(dst, src + offset, len);
	kunmap_local(src);
	folio_put(page_folio(page));
}

/* remote_mem.rs: drop the reference rust_procmaps_pin_page() took. */
__procmaps_helper void rust_procmaps_unpin_page(struct page *page)
{
	folio_put(page_folio(page));
}

/* remote_mem.rs: access_remote_vm(), exported by kernel/patches/0005. */
__procmaps_helper int rust_procmaps_access_remote_vm(struct mm_struct *mm, unsigned long addr,
						     void *buf, int len)
{
	return access_remote_vm(mm, addr, buf, len, FOLL_ANON);
}

/* remote_mem.rs: whether @vma is anonymous (no vm_ops), as FOLL_ANON asks. */
__procmaps_helper bool rust_procmaps_vma_is_anonymous(struct vm_area_struct *vma)
{
	return vma_is_anonymous(vma);
}

/*
 * args_files.rs: the argument and environment area of @mm, under its
 * arg_lock, as get_mm_cmdline() and environ_read() read them.
 */
__procmaps_helper void rust_procmaps_mm_args(struct mm_struct *mm,
					     struct rust_procmaps_mm_args *out)
{
	spin_lock(&mm->arg_lock);
	out->arg_start = mm->arg_start;
	out->arg_end = mm->arg_end;
	out->env_start = mm->env_start;
	out->env_end = mm->env_end;
	spin_unlock(&mm->arg_lock);
}
