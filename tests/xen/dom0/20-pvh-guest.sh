# A PVH guest boots and its console counter advances.
. ./lib.sh
guest_up pvh1 pvh
n=$(last_tick pvh1)
note "ticking, at $n"
wait_tick_above pvh1 $((n + 2)) 60 || fail "counter stuck at $n"
note "advanced to $(last_tick pvh1)"
xl list pvh1
xl destroy pvh1 || fail "xl destroy"
wait_gone pvh1 30 || fail "pvh1 still there after destroy"
echo ok
