CREATE TABLE `t1` (`id` int);
CREATE TABLE `t2` (`id` int);
select sleep(0.1);
CREATE TABLE `t3` (`id` int);
CREATE TABLE `t4` (`id` int);
CREATE TABLE `t5` (`id` int);
select sleep(0.1);
CREATE TABLE `t6` (`id` int);
