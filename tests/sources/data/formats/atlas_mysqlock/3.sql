CREATE TABLE `t7` (`id` int);
select sleep(0.1);
CREATE TABLE `t8` (`id` int);
CREATE TABLE `t9` (`id` int);
