/*
 * ops.c: the Xen backend's table.  The hooks live by concern: guest.c
 * (finding, describing, pausing, suspending, destroying), mem.c (memory
 * and log-dirty), state.c, create.c, put.c, config.c, admit.c, cfgfile.c, savable.c, monitor.c, cpu.c, xl.c
 * and disks.c (see xen.h).
 */
#include "xen.h"

const struct hv_ops hv_xen_ops = {
	.name = "xen",
	.backend = VMI_BACKEND_XEN,
	.probe = xen_probe,
	.list = xen_list,
	.open = xen_open,
	.describe = xen_describe,
	.save_check = xen_save_check,
	.get_config = xen_get_config,
	.pause = xen_pause,
	.suspend = xen_suspend,
	.resume = xen_resume,
	.log_dirty_start = xen_log_dirty_start,
	.log_dirty_stop = xen_log_dirty_stop,
	.dirty_fetch = xen_dirty_fetch,
	.own_rounds = xen_pv_own_rounds,
	.map_own = xen_pv_map_own,
	.round_next = xen_pv_round_next,
	.map_next = xen_pv_map_next,
	.map = xen_map,
	.unmap = xen_unmap,
	.page_state = xen_pv_page_state,
	.get_state = xen_get_state,
	.get_early_state = xen_early_state,
	.create = xen_create,
	.put_pages = xen_put_pages,
	.put_taken = xen_put_taken,
	.set_state = xen_set_state,
	.commit = xen_commit,
	.destroy = xen_destroy,
	.console = xen_console,
	.close = xen_close,
	.mem_free = xen_mem_free,
	.cpu_max = xen_cpu_max,
	.admit = xen_admit,
	.config_file = xen_config_file,
	.config_disks = xen_config_disks,
	.config_move_disks = xen_config_move_disks,
	.restore_native = xen_restore_native,
	.supervise = xen_supervise,
	.rename = xen_rename,
};
